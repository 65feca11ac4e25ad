/**
 * `npx handover …`: the admins' command line, talking to the HTTP API.
 * Exit codes: 0 completed (or the command succeeded), 1 the handover failed, was compensated or
 * cancelled, 2 bad usage, 3 refused by the API (4xx), 4 the API could not be reached or failed.
 */
import { parseArgs } from 'node:util';
import { ApiError, apiClient, type Handover } from './api-client';

const USAGE = `usage: handover <command> [options]
  offboard <agentId> --to <agentId> | --pool a,b,c [--strategy round-robin|least-loaded] | --unassign [--reason text]
  transfer <agentId> --office <officeId> --customers move|stay [--to <agentId> | --pool …]
  reassign <agentId> --to <agentId> | --pool … | --unassign          (the agent's whole book)
  status <handoverId>     cancel <handoverId>     recheck <handoverId>
  ls [--agent <agentId>] [--status running|blocked|completed|…] [--kind offboard|…]
options: --json (machine output)  --no-wait (return once started)  --key <Idempotency-Key>
env: HANDOVER_URL (http://127.0.0.1:3000), HANDOVER_TOKEN or ADMIN_TOKEN`;

const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    to: { type: 'string' },
    pool: { type: 'string' },
    strategy: { type: 'string', default: 'round-robin' },
    unassign: { type: 'boolean' },
    office: { type: 'string' },
    customers: { type: 'string' },
    reason: { type: 'string' },
    agent: { type: 'string' },
    status: { type: 'string' },
    kind: { type: 'string' },
    key: { type: 'string' },
    json: { type: 'boolean', default: false },
    'no-wait': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  },
});
const [command, arg] = positionals;
const call = apiClient();
const out = (line: string) => process.stdout.write(`${line}\n`);
const FINISHED = ['completed', 'cancelled', 'compensated', 'failed'];

function usage(message?: string): never {
  if (message) process.stderr.write(`${message}\n`);
  process.stderr.write(`${USAGE}\n`);
  process.exit(2);
}

function successor() {
  if (opt.unassign) return { unassign: true };
  if (opt.pool) return { pool: opt.pool.split(',').map((s) => s.trim()), strategy: opt.strategy };
  if (opt.to) return { agentId: opt.to };
  return undefined;
}

function describe(h: Handover): string {
  const { planned, moved, reverted } = h.progress;
  if (h.status === 'blocked') {
    const sources = h.blockedBy.map((b) => `${b.name} (${b.leadSourceKey})`).join(', ');
    return `BLOCKED: the agent is default assignee of lead source ${sources}. Change it with PUT /v1/lead-sources/{key}, then: handover recheck ${h.id}`;
  }
  if (FINISHED.includes(h.status)) {
    const s = h.summary;
    const what = s ? `${s.customers} customers, ${s.records} records, ${s.callbacks} callbacks` : 'nothing moved';
    return `${h.status.toUpperCase()}: ${what}${h.error ? ` — ${h.error}` : ''}`;
  }
  const width = 30;
  const filled = planned ? Math.min(width, Math.round((moved / planned) * width)) : 0;
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
  return `${h.phase.padEnd(11)} ${bar} ${moved}/${planned}${reverted ? ` reverted ${reverted}` : ''}`;
}

/** Follows a handover until it ends: one live line on a terminal, a line per change otherwise. */
async function follow(id: string): Promise<Handover> {
  let last = '';
  for (;;) {
    const h = await call<Handover>('GET', `/v1/handovers/${id}`);
    const line = describe(h);
    if (!opt.json && line !== last) {
      if (process.stdout.isTTY && !FINISHED.includes(h.status)) process.stdout.write(`\r${line}\x1b[K`);
      else out(process.stdout.isTTY ? `\r${line}\x1b[K` : line);
      last = line;
    }
    if (FINISHED.includes(h.status)) return h;
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function startAndFollow(body: Record<string, unknown>): Promise<number> {
  const headers: Record<string, string> = opt.key ? { 'idempotency-key': opt.key } : {};
  const started = await call<Handover>('POST', '/v1/handovers', body, headers);
  if (!opt.json)
    out(`handover ${started.id} started${started.links.temporalUi ? ` — ${started.links.temporalUi}` : ''}`);
  const final = opt['no-wait'] ? started : await follow(started.id);
  if (opt.json) out(JSON.stringify(final));
  return final.status === 'completed' || opt['no-wait'] ? 0 : 1;
}

async function main(): Promise<number> {
  if (opt.help) {
    out(USAGE); // asked for: not a usage error
    return 0;
  }
  if (!command) usage();
  switch (command) {
    case 'offboard': {
      const to = successor();
      if (!arg || !to) usage('offboard needs <agentId> and --to, --pool or --unassign');
      return startAndFollow({ kind: 'offboard', agentId: arg, to, ...(opt.reason ? { reason: opt.reason } : {}) });
    }
    case 'transfer': {
      if (!arg || !opt.office || !['move', 'stay'].includes(opt.customers ?? '')) {
        usage('transfer needs <agentId>, --office and --customers move|stay');
      }
      const to = successor();
      return startAndFollow({
        kind: 'transfer',
        agentId: arg,
        toOfficeId: opt.office,
        customers: opt.customers,
        ...(to ? { to } : {}),
      });
    }
    case 'reassign': {
      const to = successor();
      if (!arg || !to) usage('reassign needs <agentId> and --to, --pool or --unassign');
      return startAndFollow({ kind: 'reassign-customers', from: { agentId: arg }, to });
    }
    case 'status': {
      if (!arg) usage('status needs <handoverId>');
      const h = await call<Handover>('GET', `/v1/handovers/${arg}`);
      out(opt.json ? JSON.stringify(h) : `${h.id} ${h.kind} ${h.agentId ?? ''}\n${describe(h)}`);
      return h.status === 'failed' || h.status === 'compensated' ? 1 : 0;
    }
    case 'cancel':
    case 'recheck': {
      if (!arg) usage(`${command} needs <handoverId>`);
      const res = await call<unknown>('POST', `/v1/handovers/${arg}/${command}`);
      out(opt.json ? JSON.stringify(res) : `${command} sent to ${arg}`);
      return 0;
    }
    case 'ls': {
      const query = new URLSearchParams();
      if (opt.agent) query.set('agentId', opt.agent);
      if (opt.status) query.set('status', opt.status);
      if (opt.kind) query.set('kind', opt.kind);
      const list = await call<{ items: Handover[] }>('GET', `/v1/handovers?${query}`);
      if (opt.json) out(JSON.stringify(list.items));
      else for (const h of list.items) out(`${h.id}  ${h.kind.padEnd(18)} ${h.status.padEnd(11)} ${h.agentId ?? ''}`);
      return 0;
    }
    default:
      usage(`unknown command ${command}`);
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ApiError) {
      const fields = err.problem.errors?.map((e) => `\n  ${e.path}: ${e.message}`).join('') ?? '';
      process.stderr.write(`${err.message}${fields}\n`);
      process.exit(err.status >= 500 ? 4 : 3);
    }
    process.stderr.write(`cannot reach the API: ${(err as Error).message}\n`);
    process.exit(4);
  },
);
