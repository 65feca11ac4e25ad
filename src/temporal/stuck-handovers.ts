/**
 * Handovers recorded as running (or blocked) whose workflow is closed or missing (API.md,
 * "Operations"; invariant 10): a start that failed after the row was written, a workflow an
 * operator terminated in the Web UI, one the server gave up on. Their agent's slot stays taken
 * until the integrity sweep heals them (src/workflows/heal.ts).
 */
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import type { Db } from '../db/connect';
import { findIntegrityIssues, type IntegrityIssue, type IntegrityOptions } from '../db/integrity';

/** A row this young may be one whose workflow is being started right now: not missing yet. */
export const START_GRACE_SECONDS = 60;
/** Workflows described at once. */
const CONCURRENCY = 16;

export interface StuckHandover {
  handoverId: string;
  officeId: string;
  /** What happened to its workflow, in words for the row's `error`. */
  why: string;
}

export async function findStuckHandovers(
  db: Db,
  client: Client,
  options: { officeId?: string; limit?: number } = {},
): Promise<StuckHandover[]> {
  const rows = await db
    .selectFrom('handovers')
    .select(['id', 'office_id', 'created_at'])
    .where('status', 'in', ['running', 'blocked'])
    .$if(options.officeId !== undefined, (q) => q.where('office_id', '=', options.officeId!))
    .orderBy('id')
    .execute();
  const stuck: StuckHandover[] = [];
  for (let i = 0; i < rows.length; i += CONCURRENCY) {
    const found = await Promise.all(
      rows.slice(i, i + CONCURRENCY).map(async (row) => {
        const why = await workflowGone(client, row.id, row.created_at);
        return why ? { handoverId: row.id, officeId: row.office_id, why } : undefined;
      }),
    );
    for (const s of found) if (s) stuck.push(s);
    if (options.limit !== undefined && stuck.length >= options.limit) return stuck.slice(0, options.limit);
  }
  return stuck;
}

/** Why the workflow of a running row is not running, or undefined when it is (or may be about to). */
async function workflowGone(client: Client, workflowId: string, createdAt: Date): Promise<string | undefined> {
  try {
    // The latest run: a blocked handover that continued as new is running in its newest run.
    const { status, closeTime } = await client.workflow.getHandle(workflowId).describe();
    if (status.name === 'RUNNING') return undefined;
    return `its workflow ${workflowId} was ${status.name.toLowerCase()}${closeTime ? ` at ${closeTime.toISOString()}` : ''} while the handover was still running`;
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
    if (Date.now() - createdAt.getTime() < START_GRACE_SECONDS * 1000) return undefined;
    return `no workflow ${workflowId} exists: its start failed after the handover was recorded`;
  }
}

export const asIntegrityIssues = (stuck: StuckHandover[]): IntegrityIssue[] =>
  stuck.map((s) => ({
    kind: 'handover-not-running',
    entity: 'handover',
    id: s.handoverId,
    detail: `handover ${s.handoverId} is recorded as running but ${s.why}; the daily integrity sweep reverts what it moved and settles it as failed`,
    officeId: s.officeId,
  }));

/** Every finding: the database's (src/db/integrity.ts) and the handovers whose workflow is gone. */
export async function integrityFindings(
  db: Db,
  client: Client,
  options: IntegrityOptions = {},
): Promise<IntegrityIssue[]> {
  const stuck = await findStuckHandovers(db, client, {
    officeId: options.officeId,
    limit: options.limitPerEntity ?? 1000,
  });
  return [...(await findIntegrityIssues(db, options)), ...asIntegrityIssues(stuck)];
}
