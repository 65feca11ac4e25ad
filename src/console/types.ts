/** The shapes of API.md the console reads (docs/API.md). */

export type Role = 'org-admin' | 'office-admin' | 'agent';
export type AgentStatus = 'active' | 'absent' | 'leaving' | 'offboarded';

export interface Office {
  id: string;
  name: string;
  externalId: string | null;
}

export interface Agent {
  id: string;
  officeId: string;
  name: string;
  email: string;
  role: 'admin' | 'agent';
  status: AgentStatus;
  customerCount: number;
  callbackCount: number;
}

export interface Me {
  role: Role;
  agent: Agent | null;
  office: Office | null;
}

export interface Customer {
  id: string;
  officeId: string;
  ownerId: string | null;
  name: string;
  email: string | null;
  phone: string | null;
  kind: 'buyer' | 'seller' | 'both';
  subscribed: boolean;
  trashedAt: string | null;
}

export interface HistoryEntry {
  at: string;
  field: string;
  from: string | null;
  to: string | null;
  actor: string | null;
  handoverId: string | null;
}

export interface CustomerRecord {
  id: string;
  type: string;
  title: string;
  dueAt: string | null;
  assigneeId: string | null;
  status: 'open' | 'done';
}

export type Alert = 'overdue' | 'due' | 'soon';

export interface Callback {
  id: string;
  customerId: string | null;
  name: string;
  phone: string;
  startsAt: string;
  endsAt: string;
  assigneeId: string | null;
  campaign: string | null;
  note: string | null;
  alert: Alert | null;
}

export type HandoverKind = 'offboard' | 'transfer' | 'reassign-customers' | 'reassign-callbacks';
export type HandoverStatus = 'running' | 'blocked' | 'completed' | 'cancelled' | 'compensated' | 'failed';
export const SETTLED: readonly HandoverStatus[] = ['completed', 'cancelled', 'compensated', 'failed'];

export interface BlockingSource {
  leadSourceKey: string;
  name: string;
}

export interface Handover {
  id: string;
  kind: HandoverKind;
  agentId: string | null;
  status: HandoverStatus;
  phase: string;
  blockedBy: BlockingSource[];
  progress: { planned: number; moved: number; reverted: number };
  summary: {
    customers: number;
    records: number;
    callbacks: number;
    bySuccessor: Record<string, number>;
    conflicts: Array<{ entity: string; id: string; detail: string }>;
    conflictsOmitted?: number;
  } | null;
  error: string | null;
  createdAt: string;
  finishedAt: string | null;
  links: { self: string; temporalUi?: string };
}

export interface Preview {
  blockedBy: BlockingSource[];
  counts: { customers: number; unsubscribed: number; trashed: number; records: number; callbacks: number };
  bySuccessor: Record<string, number>;
}

/** `to` of API.md. */
export type Successor =
  | { agentId: string }
  | { pool: string[]; strategy: 'round-robin' | 'least-loaded' }
  | { unassign: true };
