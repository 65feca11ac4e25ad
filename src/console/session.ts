/** Who is signed in (GET /v1/me), the office being looked at, and the agents of the organisation by id. */
import { ApiError, all, api, token, whenUnauthorized } from './api';
import { signal } from './state';
import type { Agent, Me, Office } from './types';

export const me = signal<Me | undefined>(undefined);
export const offices = signal<Office[]>([]);
/** The org admin picks an office; an office admin or agent has its own. '' is every office. */
export const officeId = signal<string>('');
/** Every agent the token may list, by id: names for the IDs the API answers. */
export const agents = signal<Map<string, Agent>>(new Map());

export async function signIn(value: string): Promise<void> {
  token.set(value);
  try {
    const who = await api<Me>('GET', '/v1/me');
    if (who.role !== 'agent') {
      offices.set(await all<Office>('/v1/offices'));
    }
    officeId.set(who.office?.id ?? sessionStorage.getItem('handover.office') ?? ''); // the org admin: every office
    await reloadAgents(who);
    me.set(who); // last: the pages it opens find the agents loaded
  } catch (error) {
    token.clear();
    throw error;
  }
}

export function signOut() {
  token.clear();
  me.set(undefined);
  agents.set(new Map());
}
whenUnauthorized(signOut);

export function chooseOffice(id: string) {
  sessionStorage.setItem('handover.office', id);
  officeId.set(id);
}

export async function reloadAgents(who = me.get()): Promise<void> {
  if (!who) return;
  if (who.role === 'agent') {
    agents.set(new Map(who.agent ? [[who.agent.id, who.agent]] : []));
    return;
  }
  const list = await all<Agent>('/v1/agents');
  agents.set(new Map(list.map((a) => [a.id, a])));
}

export const agentName = (id: string | null | undefined) => (id ? (agents.get().get(id)?.name ?? id) : '—');

/** The office's agents that may receive something new. */
export const activeAgentsOf = (office: string, except?: string) =>
  [...agents.get().values()].filter((a) => a.officeId === office && a.status === 'active' && a.id !== except);

/** Resumes the tab's session after a reload. */
export async function resume(): Promise<void> {
  const saved = token.get();
  if (!saved) return;
  await signIn(saved).catch((error: unknown) => {
    if (!(error instanceof ApiError)) throw error;
  });
}
