/** Request and response schemas of /v1/handovers; the same objects validate requests and feed OpenAPI. */
import { type Static, Type } from '@sinclair/typebox';
import { Id, Nullable } from '../schemas';

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

export const OffboardBody = Type.Object(
  {
    kind: Type.Literal('offboard'),
    agentId: Id,
    to: Successor,
    reason: Type.Optional(Type.String({ maxLength: 1000 })),
    options: Type.Optional(Options),
  },
  { additionalProperties: false },
);

export const HandoverBody = OffboardBody;
export type HandoverBodyT = Static<typeof HandoverBody>;

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
    }),
  ),
  error: Nullable(Type.String()),
  createdAt: Type.String(),
  finishedAt: Nullable(Type.String()),
  links: Type.Object({ self: Type.String(), temporalUi: Type.String() }),
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
