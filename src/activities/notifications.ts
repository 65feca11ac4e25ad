/**
 * Notifications through an outbox: rows keyed by (handover, recipient, kind) are written once,
 * then delivered; a key already sent is never sent again (invariant 5).
 */
import { Context } from '@temporalio/activity';
import { sql } from 'kysely';
import type { Config } from '../config';
import type { Db } from '../db/connect';
import type { Agent, Handover, NotificationKind } from '../db/schema';
import { MANDATORY_KINDS, type MailParams, renderMail } from '../mail/templates';
import { type Mailer, PermanentMailError } from '../mail/transport';

export type NotifyEvent = 'blocked' | 'escalated' | 'assigned' | 'finished' | 'reverted' | 'handed-back';

/** Attempts of the notify activity (workflow retry policy); on the last one, what is still failing is recorded as failed. */
export const NOTIFY_MAX_ATTEMPTS = 8;

interface Recipient {
  agent: Agent;
  kind: NotificationKind;
  /** Distinguishes a second mail of the same kind (the escalation). */
  suffix?: string;
  params?: Partial<MailParams>;
}

export function notificationActivities(db: Db, mailer: Mailer, config: Config) {
  async function officeAdmins(handover: Handover): Promise<Agent[]> {
    return db
      .selectFrom('agents')
      .selectAll()
      .where('office_id', '=', handover.office_id)
      .where('role', '=', 'admin')
      .where('status', 'in', ['active', 'absent'])
      .where('id', '!=', handover.agent_id ?? '')
      .orderBy('id')
      .execute();
  }

  async function agentsById(ids: string[]): Promise<Agent[]> {
    return ids.length ? db.selectFrom('agents').selectAll().where('id', 'in', ids).execute() : [];
  }

  async function recipientsFor(handover: Handover, event: NotifyEvent): Promise<Recipient[]> {
    switch (event) {
      case 'blocked':
      case 'escalated': {
        const sources = await db
          .selectFrom('lead_sources')
          .select(['key', 'name'])
          .where('default_assignee_id', '=', handover.agent_id)
          .execute();
        const leadSources = sources.map((s) => `${s.name} (${s.key})`);
        const escalation = event === 'escalated';
        return (await officeAdmins(handover)).map((agent) => ({
          agent,
          kind: 'handover-blocked',
          suffix: escalation ? 'escalation' : undefined,
          params: { leadSources, escalation },
        }));
      }
      case 'assigned': {
        const counts = await db
          .selectFrom('handover_moves')
          .select(['entity', 'to_value', (eb) => eb.fn.countAll<number>().as('count')])
          .where('handover_id', '=', handover.id)
          .where('entity', 'in', ['customer', 'callback'])
          .where('field', 'in', ['owner_id', 'assignee_id'])
          .where('applied_at', 'is not', null)
          .where('to_value', 'is not', null)
          .groupBy(['entity', 'to_value'])
          .execute();
        const agents = await agentsById([...new Set(counts.map((c) => c.to_value!))]);
        const out: Recipient[] = [];
        for (const c of counts) {
          const agent = agents.find((a) => a.id === c.to_value);
          if (!agent) continue;
          if (c.entity === 'customer') {
            out.push({ agent, kind: 'customers-assigned', params: { count: Number(c.count) } });
          } else {
            out.push({
              agent,
              kind: 'callbacks-assigned',
              params: { count: Number(c.count), times: await callbackTimes(handover.id, agent.id) },
            });
          }
        }
        return out;
      }
      case 'finished': {
        const starter = await agentsById([handover.started_by]);
        const admins = await officeAdmins(handover);
        const unique = new Map([...starter, ...admins].map((a) => [a.id, a]));
        return [...unique.values()].map((agent) => ({ agent, kind: 'handover-finished' }));
      }
      case 'handed-back': {
        // The end of a cover: the agent gets its callbacks back, each cover hears they went.
        const back = await db
          .selectFrom('handover_moves')
          .select(['to_value', (eb) => eb.fn.countAll<number>().as('count')])
          .where('handover_id', '=', handover.id)
          .where('entity', '=', 'callback')
          .where('reverted_at', 'is not', null)
          .groupBy('to_value')
          .execute();
        const total = back.reduce((sum, b) => sum + Number(b.count), 0);
        if (total === 0 || !handover.agent_id) return [];
        const agents = await agentsById([handover.agent_id, ...back.map((b) => b.to_value!)]);
        return agents.map((agent) => {
          const returning = agent.id === handover.agent_id;
          const count = returning ? total : Number(back.find((b) => b.to_value === agent.id)?.count ?? 0);
          return {
            agent,
            kind: 'callbacks-assigned' as const,
            suffix: 'handback',
            params: { count, handback: returning ? ('returned' as const) : ('released' as const) },
          };
        });
      }
      case 'reverted': {
        // Everyone who was told of moves; mails not yet sent are simply withdrawn.
        await db
          .updateTable('notification_outbox')
          .set({ status: 'cancelled' })
          .where('handover_id', '=', handover.id)
          .where('kind', 'in', ['customers-assigned', 'callbacks-assigned'])
          .where('status', '=', 'pending')
          .execute();
        const told = await db
          .selectFrom('notification_outbox')
          .select('recipient_id')
          .distinct()
          .where('handover_id', '=', handover.id)
          .where('kind', 'in', ['customers-assigned', 'callbacks-assigned'])
          .where('status', '=', 'sent')
          .execute();
        return (await agentsById(told.map((t) => t.recipient_id))).map((agent) => ({
          agent,
          kind: 'handover-reverted',
        }));
      }
    }
  }

  async function callbackTimes(handoverId: string, assigneeId: string): Promise<string[]> {
    const rows = await db
      .selectFrom('handover_moves as m')
      .innerJoin('callbacks as c', 'c.id', 'm.entity_id')
      .select(['c.starts_at', 'c.name'])
      .where('m.handover_id', '=', handoverId)
      .where('m.entity', '=', 'callback')
      .where('m.to_value', '=', assigneeId)
      .where('m.applied_at', 'is not', null)
      .orderBy('c.starts_at')
      .limit(100)
      .execute();
    return rows.map((r) => `${r.starts_at.toISOString()} ${r.name}`);
  }

  async function enqueue(handover: Handover, event: NotifyEvent): Promise<void> {
    const recipients = await recipientsFor(handover, event);
    if (recipients.length === 0) return;
    const disabled = await db
      .selectFrom('notification_settings')
      .select(['agent_id', 'kind'])
      .where('enabled', '=', false)
      .where(
        'agent_id',
        'in',
        recipients.map((r) => r.agent.id),
      )
      .execute();
    const [agent] = handover.agent_id ? await agentsById([handover.agent_id]) : [];
    const [starter] = await agentsById([handover.started_by]);
    const rows = recipients
      .filter(
        (r) => MANDATORY_KINDS.has(r.kind) || !disabled.some((d) => d.agent_id === r.agent.id && d.kind === r.kind),
      )
      .map((r) => {
        const mail = renderMail(r.kind, r.agent.locale, {
          actor: starter?.name ?? (r.agent.locale === 'ja' ? '管理者' : 'The administrator'),
          agent: agent?.name ?? 'an agent',
          link: `${config.publicUrl}/console/handovers/${handover.id}`,
          outcome: handover.status,
          ...r.params,
        });
        return {
          key: [handover.id, r.agent.id, r.kind, r.suffix].filter(Boolean).join(':'),
          handover_id: handover.id,
          recipient_id: r.agent.id,
          email: r.agent.email,
          kind: r.kind,
          subject: mail.subject,
          body: mail.text,
        };
      });
    if (rows.length)
      await db
        .insertInto('notification_outbox')
        .values(rows)
        .onConflict((oc) => oc.column('key').doNothing())
        .execute();
  }

  /**
   * How long a delivery holds its row: past the mail activity's heartbeat timeout (1 minute), within
   * its retries (about 4 minutes in all), so an attempt that died mid-send is retried in time.
   */
  const CLAIM_SECONDS = 2 * 60;

  /** Sends what is pending for the handover. Transient SMTP failures throw (Temporal retries); permanent ones are recorded. */
  async function deliver(handoverId: string): Promise<{ sent: number; failed: number }> {
    const lastAttempt = Context.current().info.attempt >= NOTIFY_MAX_ATTEMPTS;
    // Every pending row not held by another attempt, claimed in one statement (an office closing
    // sends thousands of mails: a commit per claim was a third of each notification's statements).
    // A row cancelled meanwhile is not pending, so never sent; one another attempt is sending (its
    // claim not lapsed) is not sent twice.
    const claimed = (
      await db
        .updateTable('notification_outbox')
        .set({ claimed_until: sql`now() + ${`${CLAIM_SECONDS} seconds`}::interval` })
        .where('handover_id', '=', handoverId)
        .where('status', '=', 'pending')
        .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', sql<Date>`now()`)]))
        .returningAll()
        .execute()
    ).sort((a, b) => (a.key < b.key ? -1 : 1));
    let sent = 0;
    let failed = 0;
    let transient: Error | undefined;
    for (const row of claimed) {
      Context.current().heartbeat();
      try {
        await mailer.send({ to: row.email, subject: row.subject, text: row.body, messageId: `<${row.key}@handover>` });
        // Only a pending row becomes sent: a `cancelled` one stays what it is.
        await db
          .updateTable('notification_outbox')
          .set({ status: 'sent', sent_at: new Date(), attempts: sql`attempts + 1`, claimed_until: null })
          .where('key', '=', row.key)
          .where('status', '=', 'pending')
          .execute();
        sent++;
      } catch (err) {
        const permanent = err instanceof PermanentMailError || lastAttempt;
        await db
          .updateTable('notification_outbox')
          .set({
            status: permanent ? 'failed' : 'pending',
            attempts: sql`attempts + 1`,
            last_error: String((err as Error).message).slice(0, 1000),
            claimed_until: null,
          })
          .where('key', '=', row.key)
          .where('status', '=', 'pending')
          .execute();
        if (permanent) failed++;
        else transient = err as Error;
      }
    }
    if (transient) throw transient;
    // Rows another attempt still holds: retry once its claim lapses (ours were all released above).
    const { busy } = await db
      .selectFrom('notification_outbox')
      .select((eb) => eb.fn.countAll<number>().as('busy'))
      .where('handover_id', '=', handoverId)
      .where('status', '=', 'pending')
      .where('claimed_until', '>', sql<Date>`now()`)
      .executeTakeFirstOrThrow();
    if (Number(busy) > 0)
      throw new Error(`${busy} mails of handover ${handoverId} are held by another delivery attempt; retrying`);
    return { sent, failed };
  }

  return {
    /** Writes the event's mails to the outbox (once per key) and delivers what is pending. */
    async notify(handoverId: string, event: NotifyEvent): Promise<{ sent: number; failed: number }> {
      const handover = await db
        .selectFrom('handovers')
        .selectAll()
        .where('id', '=', handoverId)
        .executeTakeFirstOrThrow();
      await enqueue(handover, event);
      return deliver(handoverId);
    },
  };
}
