/** Small building blocks shared by the offboard-through-the-API tests. */
import { sql } from 'kysely';
import { expect } from 'vitest';
import type { AgentStatus } from '../../src/db/schema';
import { createToken } from './directory';
import { type HandoverEnv, seedAgent, seedOffice } from './handover-env';

export interface Team {
  office: string;
  /** role admin of `office`, with a token */
  admin: { id: string; token: string };
  leaver: string;
  successor: string;
}

/** A fresh office with an admin (token), a leaver and one successor: each test brings its own. */
export async function seedTeam(env: HandoverEnv): Promise<Team> {
  const office = await seedOffice(env.db);
  const admin = await seedAgent(env.db, office, { role: 'admin' });
  return {
    office,
    admin: { id: admin, token: await createToken(env.api, admin) },
    leaver: await seedAgent(env.db, office),
    successor: await seedAgent(env.db, office),
  };
}

export const offboard = (agentId: string, to: unknown, extra: Record<string, unknown> = {}) => ({
  kind: 'offboard',
  agentId,
  to,
  ...extra,
});

/** A lead source of `office` whose default assignee is `agentId`: an offboard of it blocks. */
export async function seedLeadSource(env: HandoverEnv, office: string, agentId: string, name = 'Portal') {
  const key = `portal-${office.slice(0, 8)}-${Math.random().toString(36).slice(2, 8)}`;
  await env.db
    .insertInto('lead_sources')
    .values({ key, name, office_id: office, default_assignee_id: agentId })
    .execute();
  return key;
}

export async function agentStatus(env: HandoverEnv, id: string): Promise<AgentStatus> {
  return (await env.db.selectFrom('agents').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status;
}

export async function agentEmail(env: HandoverEnv, id: string): Promise<string> {
  return (await env.db.selectFrom('agents').select('email').where('id', '=', id).executeTakeFirstOrThrow()).email;
}

export async function handoverIdsOfOffice(env: HandoverEnv, office: string): Promise<string[]> {
  const rows = await env.db.selectFrom('handovers').select('id').where('office_id', '=', office).execute();
  return rows.map((r) => r.id);
}

/** Customers owned by each of `ids` right now (0 for none). */
export async function loads(env: HandoverEnv, ids: string[]): Promise<Record<string, number>> {
  const rows = await env.db
    .selectFrom('customers')
    .select(['owner_id', (eb) => eb.fn.countAll<number>().as('n')])
    .where('owner_id', 'in', ids)
    .groupBy('owner_id')
    .execute();
  return Object.fromEntries(ids.map((id) => [id, Number(rows.find((r) => r.owner_id === id)?.n ?? 0)]));
}

/** Open records on customers that `ownerIds` own whose assignee is not the customer's owner. */
export async function openRecordsAwayFromOwner(env: HandoverEnv, ownerIds: string[]): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from customer_records r join customers c on c.id = r.customer_id
    where c.owner_id = any(${ownerIds}) and r.status = 'open' and r.assignee_id is distinct from c.owner_id`.execute(
    env.db,
  );
  return rows[0]!.n;
}

/** Waits for the workflow itself to end, so that its last mails (handover-finished) are out too. */
export async function workflowDone(env: HandoverEnv, id: string): Promise<void> {
  await env.temporal.client.workflow.getHandle(id).result();
}

/** Mails the loopback SMTP server received for `email`. */
export const mailsTo = (env: HandoverEnv, email: string) =>
  env.smtp.mails.filter((m) => (m.to && 'text' in m.to ? m.to.text : '').includes(email));

/** The problem's `detail` names `text`. */
export function expectDetail(body: { detail: string }, text: string) {
  expect(body.detail).toContain(text);
}
