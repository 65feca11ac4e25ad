/**
 * Notification settings of an agent: which mail kinds it receives. A kind with no row is enabled;
 * mandatory kinds (MANDATORY_KINDS) cannot be changed and are always sent.
 */
import { type Static, Type } from 'typebox';
import type { Agent, NotificationKind } from '../../db/schema';
import { MANDATORY_KINDS, NOTIFICATION_KINDS } from '../../mail/templates';
import { unknown } from '../access';
import type { ApiDeps, App } from '../app';
import { type Actor, isAdminOf } from '../auth';
import { forbidden, unprocessable } from '../problem';
import { Id } from '../schemas';

// Unsafe only names the static type: TypeBox 1 infers a union of a mapped array (not a tuple) as never.
const Kind = Type.Unsafe<NotificationKind>(Type.Union(NOTIFICATION_KINDS.map((kind) => Type.Literal(kind))));

export const NotificationSetting = Type.Object({
  kind: Kind,
  enabled: Type.Boolean(),
  mandatory: Type.Boolean(),
});
type NotificationSettingT = Static<typeof NotificationSetting>;

const setting = (kind: NotificationKind, stored: boolean | undefined): NotificationSettingT => {
  const mandatory = MANDATORY_KINDS.has(kind);
  return { kind, enabled: mandatory || (stored ?? true), mandatory };
};

/** The agent itself, an admin of its office, or the org admin; anyone else gets 403. */
function requireSettingsAccess(actor: Actor, agent: Agent): void {
  if (actor.kind === 'agent' && actor.agent.id === agent.id) return;
  if (isAdminOf(actor, agent.office_id)) return;
  throw forbidden(`you may not see or change the notification settings of agent ${agent.id}`);
}

export async function notificationSettingRoutes(app: App, { db }: ApiDeps) {
  async function loadAgent(actor: Actor, id: string): Promise<Agent> {
    const agent = await db.selectFrom('agents').selectAll().where('id', '=', id).executeTakeFirst();
    if (!agent) throw unknown(actor, `agent ${id}`);
    requireSettingsAccess(actor, agent);
    return agent;
  }

  app.get(
    '/v1/agents/:id/notification-settings',
    {
      schema: {
        params: Type.Object({ id: Id }),
        response: { 200: Type.Object({ items: Type.Array(NotificationSetting) }) },
      },
    },
    async (request) => {
      const agent = await loadAgent(request.actor, request.params.id);
      const rows = await db
        .selectFrom('notification_settings')
        .select(['kind', 'enabled'])
        .where('agent_id', '=', agent.id)
        .execute();
      const stored = new Map(rows.map((r) => [r.kind, r.enabled]));
      return { items: NOTIFICATION_KINDS.map((kind) => setting(kind, stored.get(kind))) };
    },
  );

  app.put(
    '/v1/agents/:id/notification-settings/:kind',
    {
      config: { selfService: true }, // an agent may turn its own optional mails on and off
      schema: {
        params: Type.Object({ id: Id, kind: Kind }),
        body: Type.Object({ enabled: Type.Boolean() }, { additionalProperties: false }),
        response: { 200: NotificationSetting },
      },
    },
    async (request) => {
      const { kind } = request.params;
      const agent = await loadAgent(request.actor, request.params.id);
      if (MANDATORY_KINDS.has(kind)) {
        const message = `${kind} mails are mandatory: they are always sent and cannot be turned on or off`;
        throw unprocessable(message, [{ path: 'params/kind', message }]);
      }
      const { enabled } = request.body;
      await db
        .insertInto('notification_settings')
        .values({ agent_id: agent.id, kind, enabled })
        .onConflict((oc) => oc.columns(['agent_id', 'kind']).doUpdateSet({ enabled }))
        .execute();
      return setting(kind, enabled);
    },
  );
}
