/**
 * Daily maintenance: the trash purge (the only place a customer is ever deleted, invariant 1),
 * the search for stuck handovers (healed by src/workflows/heal.ts) and the integrity digest to
 * each office's admins.
 */
import { Context } from '@temporalio/activity';
import { sql } from 'kysely';
import type { Config } from '../config';
import type { Db } from '../db/connect';
import type { IntegrityIssue } from '../db/integrity';
import type { Agent } from '../db/schema';
import type { Mailer } from '../mail/transport';
import {
  integrityFindings,
  type StuckHandover,
  findStuckHandovers as stuckHandovers,
} from '../temporal/stuck-handovers';

/** Customers deleted per statement: short transactions, short locks. */
export const PURGE_BATCH = 1000;
/** Ledger rows deleted per statement. */
export const PRUNE_BATCH = 10_000;
/** The outbox kind of the digest. Not a NotificationKind: it is no per-agent setting, and the column is text. */
export const DIGEST_KIND = 'integrity-digest';
/** Findings listed in one mail; the rest are counted and left to GET /v1/integrity. */
const DIGEST_MAX_LINES = 200;

export function maintenanceActivities(db: Db, mailer: Mailer, config: Config) {
  /**
   * Deletes customers whose `purgeAfter` has passed, `batch` at a time (records cascade; callbacks
   * keep existing without customer; customer_history is kept forever). Idempotent: a retry deletes
   * what is left. Heartbeats after each batch so a dead worker is noticed quickly.
   */
  async function purgeTrash(batch: number = PURGE_BATCH): Promise<{ deleted: number }> {
    let deleted = 0;
    for (;;) {
      const result = await sql`
        delete from customers
         where id in (select id from customers
                       where purge_after < now() and trashed_at is not null
                       order by purge_after, id
                       limit ${batch}
                       for update skip locked)`.execute(db);
      const n = Number(result.numAffectedRows ?? 0);
      deleted += n;
      Context.current().heartbeat({ deleted });
      if (n < batch) return { deleted };
    }
  }

  /**
   * Deletes the ledger rows of handovers that finished more than `LEDGER_RETENTION_DAYS` ago,
   * `batch` rows per statement. What such a handover moved stays answerable: its summary (with
   * `progress` and conflicts) is on its row, and every owner, office and trash change is in the
   * customers' history (invariant 8), which is kept forever. A running handover's rows are never
   * touched: `finished_at` is set only when it settles.
   */
  async function pruneLedger(batch: number = PRUNE_BATCH): Promise<{ deleted: number }> {
    let deleted = 0;
    for (;;) {
      const result = await sql`
        delete from handover_moves
         where seq in (select m.seq from handovers h join handover_moves m on m.handover_id = h.id
                        where h.finished_at < now() - make_interval(days => ${config.ledgerRetentionDays})
                          and h.status in ('completed', 'cancelled', 'compensated', 'failed')
                        limit ${batch})`.execute(db);
      const n = Number(result.numAffectedRows ?? 0);
      deleted += n;
      Context.current().heartbeat({ deleted });
      if (n < batch) return { deleted };
    }
  }

  /** Handovers recorded as running whose workflow is closed or missing, through the worker's own client. */
  async function findStuckHandovers(limit?: number): Promise<StuckHandover[]> {
    return stuckHandovers(db, Context.current().client, { limit });
  }

  function digestText(admin: Agent, date: string, issues: IntegrityIssue[]) {
    const lines = issues.slice(0, DIGEST_MAX_LINES).map((i) => `- [${i.kind}] ${i.entity} ${i.id}: ${i.detail}`);
    const more = issues.length > DIGEST_MAX_LINES ? `\n…and ${issues.length - DIGEST_MAX_LINES} more.` : '';
    const link = `${config.publicUrl}/v1/integrity?officeId=${admin.office_id}`;
    return admin.locale === 'ja'
      ? {
          subject: `整合性チェック ${date}: ${issues.length}件の問題`,
          text: `${date} の整合性チェックで次の問題が見つかりました。\n\n${lines.join('\n')}${more}\n\n${link}\n`,
        }
      : {
          subject: `Integrity check ${date}: ${issues.length} issue${issues.length === 1 ? '' : 's'}`,
          text: `The integrity check of ${date} found:\n\n${lines.join('\n')}${more}\n\n${link}\n`,
        };
  }

  /**
   * Mails each office's admins one digest of that office's findings (none when there are none),
   * at most once per (date, admin): the outbox key `integrity:<date>:<adminId>` is written first
   * and a key already `sent` is never sent again.
   */
  async function sendIntegrityDigests(date: string): Promise<{ issues: number; sent: number }> {
    // After the heals (integrityDigestWorkflow): a stuck handover still listed is one whose heal failed.
    const issues = await integrityFindings(db, Context.current().client);
    const byOffice = new Map<string, IntegrityIssue[]>();
    for (const issue of issues) {
      const list = byOffice.get(issue.officeId);
      if (list) list.push(issue);
      else byOffice.set(issue.officeId, [issue]);
    }
    if (byOffice.size === 0) return { issues: 0, sent: 0 };
    const admins = await db
      .selectFrom('agents')
      .selectAll()
      .where('role', '=', 'admin')
      .where('status', 'in', ['active', 'absent'])
      .where('office_id', 'in', [...byOffice.keys()])
      .orderBy('id')
      .execute();
    let sent = 0;
    for (const admin of admins) {
      const key = `integrity:${date}:${admin.id}`;
      const mail = digestText(admin, date, byOffice.get(admin.office_id) ?? []);
      await sql`
        insert into notification_outbox (key, handover_id, recipient_id, email, kind, subject, body)
        values (${key}, null, ${admin.id}, ${admin.email}, ${DIGEST_KIND}, ${mail.subject}, ${mail.text})
        on conflict (key) do nothing`.execute(db);
      const row = await db
        .selectFrom('notification_outbox')
        .select(['status', 'subject', 'body', 'email'])
        .where('key', '=', key)
        .executeTakeFirstOrThrow();
      if (row.status === 'sent') continue;
      Context.current().heartbeat();
      // A failure throws: Temporal retries the activity, and the keys already sent are skipped.
      await mailer.send({ to: row.email, subject: row.subject, text: row.body, messageId: `<${key}@handover>` });
      await db
        .updateTable('notification_outbox')
        .set({ status: 'sent', sent_at: new Date(), attempts: sql`attempts + 1` })
        .where('key', '=', key)
        .execute();
      sent++;
    }
    return { issues: issues.length, sent };
  }

  return { purgeTrash, pruneLedger, findStuckHandovers, sendIntegrityDigests };
}
