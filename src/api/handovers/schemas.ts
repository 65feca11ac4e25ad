/** Request and response schemas of /v1/handovers; the same objects validate requests and feed OpenAPI. */
import { type Static, Type } from 'typebox';
import { Id, Nullable, Timestamp } from '../schemas';

export const Successor = Type.Union([
  Type.Object({ agentId: Id }, { additionalProperties: false }),
  Type.Object(
    {
      pool: Type.Array(Id, { minItems: 1, maxItems: 100 }),
      strategy: Type.Union([Type.Literal('round-robin'), Type.Literal('least-loaded')]),
    },
    { additionalProperties: false },
  ),
  Type.Object({ unassign: Type.Literal(true) }, { additionalProperties: false }),
]);

export const Options = Type.Object(
  {
    recheckIntervalSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400 })),
    escalateAfterSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 30 * 86_400 })),
  },
  { additionalProperties: false },
);

const common = {
  reason: Type.Optional(Type.String({ maxLength: 1000 })),
  options: Type.Optional(Options),
  /** Extra to API.md: start later (the HR events' `effectiveAt`), waiting on a durable timer. */
  effectiveAt: Type.Optional(Timestamp),
};

export const OffboardBody = Type.Object(
  { kind: Type.Literal('offboard'), agentId: Id, to: Successor, ...common },
  {
    additionalProperties: false,
    title: 'Offboard',
    examples: [{ kind: 'offboard', agentId: 'agent-1', to: { agentId: 'agent-2' } }],
  },
);

export const TransferBody = Type.Object(
  {
    kind: Type.Literal('transfer'),
    agentId: Id,
    toOfficeId: Id,
    customers: Type.Union([Type.Literal('move'), Type.Literal('stay')]),
    to: Type.Optional(Successor),
    ...common,
  },
  {
    additionalProperties: false,
    title: 'Transfer',
    examples: [
      { kind: 'transfer', agentId: 'agent-1', toOfficeId: 'office-2', customers: 'stay', to: { agentId: 'agent-2' } },
    ],
  },
);

/** Up to 100,000 customer IDs: they are kept in the database, never in the workflow. */
export const ReassignCustomersBody = Type.Object(
  {
    kind: Type.Literal('reassign-customers'),
    from: Type.Union([
      Type.Object({ agentId: Id }, { additionalProperties: false }),
      Type.Object({ customerIds: Type.Array(Id, { minItems: 1, maxItems: 100_000 }) }, { additionalProperties: false }),
    ]),
    to: Successor,
    ...common,
  },
  {
    additionalProperties: false,
    title: 'Reassign customers',
    examples: [{ kind: 'reassign-customers', from: { customerIds: ['c-1', 'c-2'] }, to: { unassign: true } }],
  },
);

export const ReassignCallbacksBody = Type.Object(
  {
    kind: Type.Literal('reassign-callbacks'),
    fromAgentId: Id,
    to: Successor,
    window: Type.Optional(Type.Object({ from: Timestamp, to: Timestamp }, { additionalProperties: false })),
    until: Type.Optional(Timestamp),
    ...common,
  },
  {
    additionalProperties: false,
    title: 'Reassign callbacks (cover with `until`)',
    examples: [
      { kind: 'reassign-callbacks', fromAgentId: 'agent-1', to: { agentId: 'agent-2' }, until: '2026-12-01T09:00:00Z' },
    ],
  },
);

export const HandoverBody = Type.Union([OffboardBody, TransferBody, ReassignCustomersBody, ReassignCallbacksBody]);

const Counts = Type.Record(Type.String(), Type.Integer());

export const HandoverView = Type.Object({
  id: Id,
  kind: Type.String(),
  agentId: Nullable(Type.String()),
  status: Type.String(),
  phase: Type.String(),
  blockedBy: Type.Array(Type.Object({ leadSourceKey: Type.String(), name: Type.String() })),
  progress: Type.Object({ planned: Type.Integer(), moved: Type.Integer(), reverted: Type.Integer() }),
  summary: Nullable(
    Type.Object({
      customers: Type.Integer(),
      records: Type.Integer(),
      callbacks: Type.Integer(),
      bySuccessor: Counts,
      conflicts: Type.Array(Type.Object({ entity: Type.String(), id: Type.String(), detail: Type.String() })),
      /** Extra to API.md: how many conflicts the list leaves out (it names the first 1,000). */
      conflictsOmitted: Type.Optional(Type.Integer()),
    }),
  ),
  error: Nullable(Type.String()),
  /** Extra to API.md: mails that failed for good (e.g. SMTP refused the recipient); the handover went on without them. */
  undeliveredMails: Type.Array(
    Type.Object({ recipientId: Type.String(), kind: Type.String(), error: Nullable(Type.String()) }),
  ),
  createdAt: Type.String(),
  finishedAt: Nullable(Type.String()),
  links: Type.Object({ self: Type.String(), temporalUi: Type.Optional(Type.String()) }),
});
export type HandoverViewT = Static<typeof HandoverView>;

export const PreviewView = Type.Object({
  blockedBy: Type.Array(Type.Object({ leadSourceKey: Type.String(), name: Type.String() })),
  counts: Type.Object({
    customers: Type.Integer(),
    unsubscribed: Type.Integer(),
    trashed: Type.Integer(),
    records: Type.Integer(),
    callbacks: Type.Integer(),
  }),
  bySuccessor: Counts,
});
