/** Configuration from the environment, with the defaults API.md names. */
export interface Config {
  port: number;
  databaseUrl: string;
  /** Unset: `npm start` runs an embedded Temporal dev server. */
  temporalAddress: string | undefined;
  temporalNamespace: string;
  taskQueue: string;
  adminToken: string | undefined;
  scimToken: string | undefined;
  smtpUrl: string | undefined;
  mailFrom: string;
  mailOutboxDir: string;
  hrWebhookSecret: string | undefined;
  trashRetentionDays: number;
  /** Days the ledger rows of a finished handover are kept; its summary and the customers' history stay. */
  ledgerRetentionDays: number;
  publicUrl: string;
  temporalUiUrl: string | undefined;
  /** Entities per move transaction (the ledger batch). */
  moveBatchSize: number;
  /** Move batches run side by side on this many connections (PostgreSQL runs a statement on one core). */
  moveLanes: number;
}

/**
 * Database connections per process, measured with `npm run bench -- --api-load` (200 handovers at
 * once): the worker runs the move's lanes and up to a hundred short steps at the same time (8, 20, 40
 * connections: all 200 done after 27, 19, 22 s); the API holds one per request for a few queries.
 */
export const POOL_SIZE = { worker: 20, api: 10 } as const;

/**
 * Every setting is read and checked here, at start: a bad value fails the start, naming the variable.
 * A variable set to the empty string (`FOO=` in a compose file) counts as unset.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const port = integerSetting(env, 'PORT', 3000, 0, 65535);
  for (const [name, protocols] of URL_SETTINGS) checkUrl(env, name, protocols);
  return {
    port,
    databaseUrl: env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/handover',
    temporalAddress: env.TEMPORAL_ADDRESS || undefined,
    temporalNamespace: env.TEMPORAL_NAMESPACE || 'default',
    taskQueue: env.TEMPORAL_TASK_QUEUE || 'handover',
    adminToken: env.ADMIN_TOKEN || undefined,
    scimToken: env.SCIM_TOKEN || undefined,
    smtpUrl: env.SMTP_URL || undefined,
    mailFrom: env.MAIL_FROM || 'Handover <handover@localhost>',
    mailOutboxDir: env.MAIL_OUTBOX_DIR || 'data/outbox',
    hrWebhookSecret: env.HR_WEBHOOK_SECRET || undefined,
    trashRetentionDays: positiveInteger(env, 'TRASH_RETENTION_DAYS', 14),
    ledgerRetentionDays: positiveInteger(env, 'LEDGER_RETENTION_DAYS', 30),
    publicUrl: env.PUBLIC_URL || `http://127.0.0.1:${port}`,
    temporalUiUrl: env.TEMPORAL_UI_URL || undefined,
    moveBatchSize: positiveInteger(env, 'MOVE_BATCH_SIZE', 10000),
    moveLanes: positiveInteger(env, 'MOVE_LANES', 2),
  };
}

/** A numeric setting, refused at start when it is not a positive integer (0 lanes would move nothing, forever). */
function positiveInteger(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isInteger(value) || value < 1) {
    throw new Error(`${name} must be a positive integer, got "${raw}"; unset it to use ${fallback}`);
  }
  return value;
}

function integerSetting(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || value < min || value > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}, got "${raw}"; unset it to use ${fallback}`);
  }
  return value;
}

const URL_SETTINGS: Array<[string, string[]]> = [
  ['DATABASE_URL', ['postgres:', 'postgresql:']],
  ['SMTP_URL', ['smtp:', 'smtps:']],
  ['PUBLIC_URL', ['http:', 'https:']],
  ['TEMPORAL_UI_URL', ['http:', 'https:']],
];

function checkUrl(env: NodeJS.ProcessEnv, name: string, protocols: string[]): void {
  const raw = env[name];
  if (raw === undefined || raw === '') return;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`${name} is not a URL: "${maskCredentials(raw)}"`);
  }
  if (!protocols.includes(url.protocol)) {
    throw new Error(`${name} must be a ${protocols.join(' or ')} URL, got "${maskCredentials(raw)}"`);
  }
}

/** A URL (or any text holding one) with its password replaced by ***, for printing and logs. */
export function maskCredentials(text: string): string {
  return text.replace(/(\/\/[^/:@\s]*):[^@/\s]*@/g, '$1:***@');
}
