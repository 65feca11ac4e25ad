/**
 * The database types, in one place. Column names are snake_case in SQL and here;
 * the API layer maps them to the camelCase of API.md.
 */
import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type Timestamp = ColumnType<Date, Date | string, Date | string>;
/** A column with a database default: optional on insert. */
type Defaulted<T> = ColumnType<T, T | undefined, T>;
type UpdatedAt = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

export type AgentRole = 'admin' | 'agent';
export type AgentStatus = 'active' | 'absent' | 'leaving' | 'offboarded';
export type Locale = 'ja' | 'en';
export type CustomerKind = 'buyer' | 'seller' | 'both';
export type RecordType = 'task' | 'appointment' | 'visit_report' | 'visit_block' | 'note';
export type RecordStatus = 'open' | 'done';
export type HandoverKind = 'offboard' | 'transfer' | 'reassign-customers' | 'reassign-callbacks';
export type HandoverStatus = 'running' | 'blocked' | 'completed' | 'cancelled' | 'compensated' | 'failed';
export type HandoverPhase =
  | 'validating'
  | 'waiting'
  | 'blocked'
  | 'planning'
  | 'moving'
  | 'notifying'
  | 'finishing'
  | 'compensating'
  | 'done';
export type MoveEntity = 'customer' | 'record' | 'callback' | 'agent';
export type MoveField = 'owner_id' | 'office_id' | 'assignee_id';
export type NotificationKind =
  | 'customers-assigned'
  | 'callbacks-assigned'
  | 'handover-blocked'
  | 'handover-finished'
  | 'handover-reverted';
export type OutboxStatus = 'pending' | 'sent' | 'failed' | 'cancelled';

export interface OfficeTable {
  id: Generated<string>;
  name: string;
  external_id: string | null;
  created_at: CreatedAt;
}

export interface AgentTable {
  id: Generated<string>;
  office_id: string;
  name: string;
  email: string;
  role: AgentRole;
  locale: Defaulted<Locale>;
  status: Defaulted<AgentStatus>;
  external_id: string | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface ApiTokenTable {
  id: Generated<string>;
  agent_id: string;
  /** sha256 of the token; the token itself is shown once and never stored. */
  token_hash: string;
  created_at: CreatedAt;
}

export interface LeadSourceTable {
  key: string;
  name: string;
  office_id: string;
  default_assignee_id: string | null;
  updated_at: UpdatedAt;
}

export interface CustomerTable {
  id: Generated<string>;
  office_id: string;
  owner_id: string | null;
  name: string;
  email: string | null;
  phone: string | null;
  kind: CustomerKind;
  subscribed: Defaulted<boolean>;
  external_id: string | null;
  trashed_at: NullableTimestamp;
  purge_after: NullableTimestamp;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface CustomerRecordTable {
  id: Generated<string>;
  customer_id: string;
  type: RecordType;
  title: string;
  due_at: NullableTimestamp;
  assignee_id: string | null;
  status: Defaulted<RecordStatus>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface CallbackTable {
  id: Generated<string>;
  customer_id: string | null;
  name: string;
  phone: string;
  starts_at: Timestamp;
  ends_at: Timestamp;
  assignee_id: string | null;
  campaign: string | null;
  note: string | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
  updated_by: string | null;
}

export interface HandoverTable {
  /** Also the Temporal workflow ID. */
  id: string;
  kind: HandoverKind;
  agent_id: string | null;
  office_id: string;
  /** The request body as accepted (validated), replayed by the workflow's activities. */
  request: ColumnType<HandoverRequestJson, string, string>;
  idempotency_key: string | null;
  request_hash: string;
  started_by: string;
  status: HandoverStatus;
  phase: HandoverPhase;
  /** The agent's status before the handover marked it `leaving`, for compensation. */
  agent_prev_status: AgentStatus | null;
  summary: ColumnType<HandoverSummaryJson | null, string | null, string | null>;
  error: string | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
  finished_at: NullableTimestamp;
}

// biome-ignore lint/suspicious/noExplicitAny: opaque JSON, typed by src/domain at the edges
export type HandoverRequestJson = Record<string, any>;
export interface HandoverSummaryJson {
  customers: number;
  records: number;
  callbacks: number;
  bySuccessor: Record<string, number>;
  conflicts: Array<{ entity: MoveEntity; id: string; detail: string }>;
  /** Conflicts beyond the first 1,000 listed: how many more the ledger holds. */
  conflictsOmitted?: number;
  /** Ledger counts when it settled: the `progress` of a finished handover. */
  progress?: { planned: number; moved: number; reverted: number };
}

/**
 * The move ledger. Planning inserts one row per (entity, field) to change; a move sets
 * `applied_at` in the same transaction as the entity's update; compensation sets `reverted_at`
 * where the entity still holds `to_value`, else `conflict`.
 */
export interface HandoverMoveTable {
  seq: Generated<string>;
  handover_id: string;
  entity: MoveEntity;
  entity_id: string;
  field: MoveField;
  from_value: string | null;
  to_value: string | null;
  applied_at: NullableTimestamp;
  reverted_at: NullableTimestamp;
  /** Set when the entity no longer held the expected value at move or revert time. */
  conflict: string | null;
}

export interface CustomerHistoryTable {
  seq: Generated<string>;
  customer_id: string;
  at: CreatedAt;
  field: 'owner_id' | 'office_id' | 'trashed';
  from_value: string | null;
  to_value: string | null;
  actor: string;
  handover_id: string | null;
}

export interface NotificationOutboxTable {
  /** `${handoverId}:${recipientId}:${kind}` — at most one mail per key. */
  key: string;
  handover_id: string | null;
  recipient_id: string;
  email: string;
  kind: NotificationKind;
  subject: string;
  body: string;
  status: Defaulted<OutboxStatus>;
  attempts: Defaulted<number>;
  last_error: string | null;
  created_at: CreatedAt;
  sent_at: NullableTimestamp;
  /** A delivery in flight holds the row until then (migration 0005). */
  claimed_until: NullableTimestamp;
}

export interface NotificationSettingTable {
  agent_id: string;
  kind: NotificationKind;
  enabled: boolean;
}

export interface HrEventTable {
  webhook_id: string;
  type: string;
  handover_id: string | null;
  received_at: CreatedAt;
}

export interface Database {
  offices: OfficeTable;
  agents: AgentTable;
  api_tokens: ApiTokenTable;
  lead_sources: LeadSourceTable;
  customers: CustomerTable;
  customer_records: CustomerRecordTable;
  callbacks: CallbackTable;
  handovers: HandoverTable;
  handover_moves: HandoverMoveTable;
  customer_history: CustomerHistoryTable;
  notification_outbox: NotificationOutboxTable;
  notification_settings: NotificationSettingTable;
  hr_events: HrEventTable;
}

export type Agent = Selectable<AgentTable>;
export type Customer = Selectable<CustomerTable>;
export type NewCustomer = Insertable<CustomerTable>;
export type Handover = Selectable<HandoverTable>;
export type Callback = Selectable<CallbackTable>;
export type CustomerRecord = Selectable<CustomerRecordTable>;
