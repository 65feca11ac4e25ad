/** Handover requests and the workflow's view of them: pure types, shared by API, workflow and activities. */
import type { HandoverKind, HandoverPhase, HandoverStatus } from '../db/schema';

export type { HandoverKind, HandoverPhase, HandoverStatus };

export type Strategy = 'round-robin' | 'least-loaded';
export type Successor = { agentId: string } | { pool: string[]; strategy: Strategy } | { unassign: true };

export interface HandoverOptions {
  recheckIntervalSeconds: number;
  escalateAfterSeconds: number;
}

export const DEFAULT_OPTIONS: HandoverOptions = { recheckIntervalSeconds: 300, escalateAfterSeconds: 86_400 };

interface Common {
  reason?: string;
  options?: Partial<HandoverOptions>;
  /** When the handover may begin (HR systems send it ahead); it waits on a durable timer until then. */
  effectiveAt?: string;
  /**
   * Set by HR events and SCIM when they name no successor (never by an API caller: the schema has
   * no such field): `to` is the office's other active agents as they are when planning starts.
   */
  poolOfOffice?: boolean;
}

export interface OffboardRequest extends Common {
  kind: 'offboard';
  agentId: string;
  to: Successor;
}

export interface TransferRequest extends Common {
  kind: 'transfer';
  agentId: string;
  toOfficeId: string;
  customers: 'move' | 'stay';
  to?: Successor;
}

export interface ReassignCustomersRequest extends Common {
  kind: 'reassign-customers';
  from: { agentId: string } | { customerIds: string[] };
  to: Successor;
}

export interface ReassignCallbacksRequest extends Common {
  kind: 'reassign-callbacks';
  fromAgentId: string;
  to: Successor;
  window?: { from: string; to: string };
  /** Cover: the callbacks go back at `until`, or when the agent is `active` again. */
  until?: string;
}

export type HandoverRequest = OffboardRequest | TransferRequest | ReassignCustomersRequest | ReassignCallbacksRequest;

/** The agent a request is about (its lock, its office, its search attribute); none for a list of customers. */
export function subjectAgentId(request: HandoverRequest): string | undefined {
  switch (request.kind) {
    case 'offboard':
    case 'transfer':
      return request.agentId;
    case 'reassign-customers':
      return 'agentId' in request.from ? request.from.agentId : undefined;
    case 'reassign-callbacks':
      return request.fromAgentId;
  }
}

/** Who receives: `to` where the kind has one (a transfer that moves customers has none). */
export function successorOf(request: HandoverRequest): Successor | undefined {
  return request.kind === 'transfer' && request.customers === 'move' ? undefined : request.to;
}

/** What the workflow is started with: IDs and settings only, never entity lists (history stays small). */
export interface HandoverInput {
  handoverId: string;
  kind: HandoverKind;
  agentId: string | null;
  officeId: string;
  options: HandoverOptions;
  /** A cover (`reassign-callbacks` with `until`): after finishing, wait, then hand the callbacks back. */
  cover: boolean;
  /** Wait until then before validating (phase `waiting`). */
  effectiveAt?: string;
  /** Set when a run continued as new while blocked (invariant 10): where the saga goes on. */
  resume?: BlockedResume;
}

/**
 * What a blocked handover carries into its next run: it was validated (the agent is `leaving`,
 * so its release stays the compensation to run), its admins were mailed, and its escalation is
 * due at `escalateAt` (or was sent).
 */
export interface BlockedResume {
  stage: 'blocked';
  blockedBy: BlockingLeadSource[];
  escalateAt: string;
  escalated: boolean;
  /** A recheck asked for just before the run continued. */
  recheckRequested: boolean;
}

export interface BlockingLeadSource {
  leadSourceKey: string;
  name: string;
}

export interface Progress {
  planned: number;
  moved: number;
  reverted: number;
}

/** What the `state` query answers. */
export interface HandoverState {
  status: HandoverStatus;
  phase: HandoverPhase;
  blockedBy: BlockingLeadSource[];
  progress: Progress;
}

export function successorIds(to: Successor): string[] {
  if ('agentId' in to) return [to.agentId];
  if ('pool' in to) return [...new Set(to.pool)];
  return [];
}

/** Human words for a successor, for summaries and mails. */
export function describeSuccessor(to: Successor, names: Map<string, string>): string {
  if ('unassign' in to) return 'nobody (unassigned)';
  const ids = successorIds(to);
  const list = ids.map((id) => names.get(id) ?? id).join(', ');
  return 'pool' in to ? `${list} (${to.strategy})` : list;
}

/** How the saga skeleton treats each kind; everything else a kind does lives in its activities. */
export interface KindTraits {
  /** Waits while lead sources name the agent as default assignee. */
  blocksOnLeadSources: boolean;
  /** Marks the agent `leaving` for the whole run (nothing new can be assigned to it). */
  holdsAgent: boolean;
  /** Verb for summaries: "Offboard Xavier Sato → Yuki Ito". */
  verb: string;
}

export const KIND_TRAITS: Record<HandoverKind, KindTraits> = {
  offboard: { blocksOnLeadSources: true, holdsAgent: true, verb: 'Offboard' },
  transfer: { blocksOnLeadSources: true, holdsAgent: true, verb: 'Transfer' },
  'reassign-customers': { blocksOnLeadSources: false, holdsAgent: false, verb: 'Reassign customers of' },
  'reassign-callbacks': { blocksOnLeadSources: false, holdsAgent: false, verb: 'Reassign callbacks of' },
};
