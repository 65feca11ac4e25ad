/**
 * `POST /v1/hr/events`: HR systems start handovers, signed as the Standard Webhooks spec says.
 * Not under the bearer auth (see app.ts): the signature is the credential, checked on the raw
 * body before anything is parsed. A repeated `webhook-id` answers the same handover.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { Type } from 'typebox';
import type { Agent } from '../../db/schema';
import type { HandoverRequest, Successor } from '../../domain/handover';
import type { ApiDeps, App } from '../app';
import { start } from '../handovers/start';
import { endRunningCovers, handoverByKey, INTEGRATION_ACTOR, officePool } from '../integrations/pool';
import { badRequest, conflict, unauthorized, unprocessable } from '../problem';
import { Timestamp } from '../schemas';

export const HR_EVENTS_PATH = '/v1/hr/events';
/** Standard Webhooks: a timestamp further than this from now is refused (replay protection). */
export const TOLERANCE_SECONDS = 5 * 60;

const Ref = Type.Object({ externalId: Type.String({ minLength: 1, maxLength: 200 }) });
const Terminated = Type.Object({
  type: Type.Literal('employee.terminated'),
  employee: Ref,
  successor: Type.Optional(Ref),
  effectiveAt: Type.Optional(Timestamp),
});
const Transferred = Type.Object({
  type: Type.Literal('employee.transferred'),
  employee: Ref,
  toOffice: Ref,
  customers: Type.Optional(Type.Union([Type.Literal('move'), Type.Literal('stay')])),
  successor: Type.Optional(Ref),
  effectiveAt: Type.Optional(Timestamp),
});
const Absent = Type.Object({
  type: Type.Literal('employee.absent'),
  employee: Ref,
  successor: Type.Optional(Ref),
  until: Type.Optional(Timestamp),
});
const HrEvent = Type.Union([Terminated, Transferred, Absent]);
type HrEventT =
  | { type: 'employee.terminated'; employee: Ref; successor?: Ref; effectiveAt?: string }
  | {
      type: 'employee.transferred';
      employee: Ref;
      toOffice: Ref;
      customers?: 'move' | 'stay';
      successor?: Ref;
      effectiveAt?: string;
    }
  | { type: 'employee.absent'; employee: Ref; successor?: Ref; until?: string };
type Ref = { externalId: string };

/** The HMAC key: the base64 after `whsec_` (Standard Webhooks secrets). */
export function webhookKey(secret: string): Buffer {
  return Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
}

/** Throws 401 unless one of the `v1,` signatures matches and the timestamp is fresh. */
export function verifyWebhook(
  secret: string | undefined,
  headers: Record<string, string | string[] | undefined>,
  body: string,
  now = Date.now(),
): string {
  if (!secret) throw unauthorized('HR webhooks are not configured (HR_WEBHOOK_SECRET is unset)');
  const header = (name: string) => {
    const value = headers[name];
    return Array.isArray(value) ? value.join(' ') : value;
  };
  const id = header('webhook-id');
  const timestamp = header('webhook-timestamp');
  const signatures = header('webhook-signature');
  if (!id || !timestamp || !signatures) {
    throw unauthorized('send the Standard Webhooks headers webhook-id, webhook-timestamp and webhook-signature');
  }
  if (!/^\d{1,12}$/.test(timestamp)) throw unauthorized('webhook-timestamp must be unix seconds');
  if (Math.abs(now / 1000 - Number(timestamp)) > TOLERANCE_SECONDS) {
    throw unauthorized('webhook-timestamp is more than 5 minutes off; the event is refused as a possible replay');
  }
  const expected = createHmac('sha256', webhookKey(secret)).update(`${id}.${timestamp}.${body}`).digest();
  let valid = false;
  for (const entry of signatures.split(' ')) {
    const [version, signature] = entry.split(',', 2);
    if (version !== 'v1' || !signature) continue;
    const given = Buffer.from(signature, 'base64');
    // Every entry is compared (no early exit), each in constant time.
    if (given.length === expected.length && timingSafeEqual(given, expected)) valid = true;
  }
  if (!valid) throw unauthorized('no valid v1 signature in webhook-signature');
  return id;
}

export async function hrEventRoutes(app: App, deps: ApiDeps) {
  const { db } = deps;

  await app.register(async (scope) => {
    // The signature covers the exact bytes sent: keep the body as a string until it is verified.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));
    scope.addHook('preValidation', async (request) => {
      const raw = typeof request.body === 'string' ? request.body : '';
      verifyWebhook(deps.config.hrWebhookSecret, request.headers, raw);
      try {
        request.body = JSON.parse(raw);
      } catch {
        throw badRequest('the body is not valid JSON');
      }
    });

    scope.post(
      HR_EVENTS_PATH,
      {
        bodyLimit: 64 * 1024, // an event is a few hundred bytes; HR systems may add fields of their own
        schema: {
          summary: 'An HR event (Standard Webhooks signature, no bearer token)',
          security: [],
          body: HrEvent,
          response: {
            200: Type.Object({ handoverId: Type.String() }),
            202: Type.Object({ handoverId: Type.String() }),
          },
        },
      },
      async (request, reply) => {
        const webhookId = String(request.headers['webhook-id']);
        const event = request.body as HrEventT;
        const { status, handoverId } = await handle(webhookId, event);
        return reply.status(status).send({ handoverId });
      },
    );
  });

  async function handle(webhookId: string, event: HrEventT): Promise<{ status: 200 | 202; handoverId: string }> {
    const seen = await db
      .selectFrom('hr_events')
      .select('handover_id')
      .where('webhook_id', '=', webhookId)
      .executeTakeFirst();
    if (seen?.handover_id) return { status: 200, handoverId: seen.handover_id };
    const key = `hr:${webhookId}`;
    // Started, but the event row was not written (a crash in between): answer it all the same.
    const prior = await handoverByKey(db, key);
    if (prior) {
      await record(webhookId, event.type, prior.id);
      return { status: 200, handoverId: prior.id };
    }

    const employee = await agentByExternalId(event.employee.externalId, 'body/employee/externalId');
    const successor = event.successor
      ? { agentId: (await agentByExternalId(event.successor.externalId, 'body/successor/externalId')).id }
      : undefined;
    const to = async (): Promise<Successor> =>
      successor ?? officePool(db, employee.office_id, employee.id, 'body/successor');
    // Without a successor the pool is the office's other active agents when planning starts (the workflow computes it then).
    const reason = `HR ${event.type} (webhook ${webhookId})`;
    const fresh = successor ? {} : { poolOfOffice: true };

    let request: HandoverRequest;
    let undo: (() => Promise<void>) | undefined;
    switch (event.type) {
      case 'employee.terminated':
        // A running cover of the employee ends first (its callbacks go back), then it is offboarded.
        await endRunningCovers(db, deps.temporal, employee.id);
        request = {
          kind: 'offboard',
          agentId: employee.id,
          to: await to(),
          reason,
          ...fresh,
          ...at(event.effectiveAt),
        };
        break;
      case 'employee.transferred': {
        const office = await db
          .selectFrom('offices')
          .select('id')
          .where('external_id', '=', event.toOffice.externalId)
          .executeTakeFirst();
        if (!office) {
          throw unprocessable(`no office has externalId ${event.toOffice.externalId}`, [
            { path: 'body/toOffice/externalId', message: 'unknown office' },
          ]);
        }
        const customers = event.customers ?? 'move';
        request = {
          kind: 'transfer',
          agentId: employee.id,
          toOfficeId: office.id,
          customers,
          ...(customers === 'stay' ? { to: await to(), ...fresh } : {}),
          reason,
          ...at(event.effectiveAt),
        };
        break;
      }
      case 'employee.absent': {
        request = {
          kind: 'reassign-callbacks',
          fromAgentId: employee.id,
          to: await to(),
          reason,
          ...fresh,
          ...(event.until ? { until: event.until } : {}),
        };
        undo = await markAbsent(employee);
        break;
      }
    }
    let started: Awaited<ReturnType<typeof start>>;
    try {
      started = await start(deps, INTEGRATION_ACTOR, request, key);
    } catch (err) {
      await undo?.();
      throw err;
    }
    await record(webhookId, event.type, started.handover.id);
    return { status: started.status, handoverId: started.handover.id };
  }

  async function agentByExternalId(externalId: string, path: string): Promise<Agent> {
    const agent = await db.selectFrom('agents').selectAll().where('external_id', '=', externalId).executeTakeFirst();
    if (!agent) throw unprocessable(`no agent has externalId ${externalId}`, [{ path, message: 'unknown employee' }]);
    return agent;
  }

  /** The agent is `absent` (compare-and-set from active/absent); returns how to take that back if the start fails. */
  async function markAbsent(agent: Agent): Promise<(() => Promise<void>) | undefined> {
    const updated = await db
      .updateTable('agents')
      .set({ status: 'absent', updated_at: new Date() })
      .where('id', '=', agent.id)
      .where('status', 'in', ['active', 'absent'])
      .returning('id')
      .executeTakeFirst();
    if (!updated) {
      const now = await db.selectFrom('agents').select('status').where('id', '=', agent.id).executeTakeFirstOrThrow();
      throw conflict(`agent ${agent.id} is ${now.status}; it cannot be marked absent`);
    }
    if (agent.status !== 'active') return undefined;
    return async () => {
      await db
        .updateTable('agents')
        .set({ status: 'active', updated_at: new Date() })
        .where('id', '=', agent.id)
        .where('status', '=', 'absent')
        .execute();
    };
  }

  async function record(webhookId: string, type: string, handoverId: string) {
    await db
      .insertInto('hr_events')
      .values({ webhook_id: webhookId, type, handover_id: handoverId })
      .onConflict((oc) => oc.column('webhook_id').doNothing())
      .execute();
  }
}

const at = (effectiveAt: string | undefined) => (effectiveAt ? { effectiveAt } : {});
