import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import type { Db } from '../../src/db/connect';
import type { AgentStatus } from '../../src/db/schema';
import type { TestApi } from './api';

/** The body of a response, after checking its status (and that errors are problem+json). */
// biome-ignore lint/suspicious/noExplicitAny: test bodies are checked field by field
export function expectStatus(res: LightMyRequestResponse, status: number): any {
  if (res.statusCode !== status) throw new Error(`expected ${status}, got ${res.statusCode}: ${res.body}`);
  if (status >= 400) {
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ status, title: expect.any(String), detail: expect.any(String) });
  }
  return res.headers['content-type']?.toString().includes('json') ? res.json() : res.body;
}

export interface Directory {
  officeA: string;
  officeB: string;
  /** role admin, office A */
  adminA: { id: string; token: string };
  /** role agent, office A */
  agentA: { id: string; token: string };
  /** role agent, office A, no token */
  agentA2: { id: string };
  /** role admin, office B */
  adminB: { id: string; token: string };
  /** role agent, office B, no token */
  agentB: { id: string };
}

let counter = 0;
const unique = (label: string) => `${label}-${Date.now().toString(36)}-${++counter}`;

export async function createOffice(api: TestApi, name = unique('office')): Promise<string> {
  return expectStatus(await api.call('POST', '/v1/offices', { name }), 201).id;
}

export async function createAgent(
  api: TestApi,
  officeId: string,
  role: 'admin' | 'agent' = 'agent',
  extra: Record<string, unknown> = {},
): Promise<string> {
  const name = unique(role);
  const body = { officeId, name, email: `${name}@example.test`, role, ...extra };
  return expectStatus(await api.call('POST', '/v1/agents', body), 201).id;
}

export async function createToken(api: TestApi, agentId: string): Promise<string> {
  return expectStatus(await api.call('POST', `/v1/agents/${agentId}/tokens`), 201).token;
}

/** Two offices, each with an admin (with a token) and agents. */
export async function seedDirectory(api: TestApi): Promise<Directory> {
  const [officeA, officeB] = [await createOffice(api, 'Tokyo'), await createOffice(api, 'Osaka')];
  const adminA = await createAgent(api, officeA, 'admin');
  const agentA = await createAgent(api, officeA, 'agent');
  const agentA2 = await createAgent(api, officeA, 'agent');
  const adminB = await createAgent(api, officeB, 'admin');
  const agentB = await createAgent(api, officeB, 'agent');
  return {
    officeA,
    officeB,
    adminA: { id: adminA, token: await createToken(api, adminA) },
    agentA: { id: agentA, token: await createToken(api, agentA) },
    agentA2: { id: agentA2 },
    adminB: { id: adminB, token: await createToken(api, adminB) },
    agentB: { id: agentB },
  };
}

/** `leaving` and `offboarded` are set only by handovers; tests set them directly. */
export async function setStatus(db: Db, agentId: string, status: AgentStatus): Promise<void> {
  await db.updateTable('agents').set({ status, updated_at: new Date() }).where('id', '=', agentId).execute();
}

export async function createCustomer(
  api: TestApi,
  officeId: string,
  ownerId: string | null,
  extra: Record<string, unknown> = {},
  token?: string,
): Promise<string> {
  const body = { officeId, ownerId, name: unique('customer'), kind: 'buyer', ...extra };
  return expectStatus(await api.call('POST', '/v1/customers', body, token), 201).id;
}

/** Every item of a list, following `nextCursor` page by page; also returns the page count. */
export async function listAll(api: TestApi, url: string, token?: string) {
  // biome-ignore lint/suspicious/noExplicitAny: list items are checked by the caller
  const items: any[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const sep = url.includes('?') ? '&' : '?';
    const res = await api.call('GET', cursor ? `${url}${sep}cursor=${cursor}` : url, undefined, token);
    const body = expectStatus(res, 200);
    items.push(...body.items);
    cursor = body.nextCursor;
    pages++;
  } while (cursor && pages < 1000);
  return { items, pages };
}
