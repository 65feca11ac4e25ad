/** The workflow's public surface, imported by the API client as well as by the workflow. */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { HandoverState } from '../domain/handover';

export const stateQuery = defineQuery<HandoverState>('state');
/** Re-check `blockedBy` now instead of at the next interval. */
export const recheckSignal = defineSignal('recheck');

/** The agent a cover stands in for is `active` again: its callbacks go back now. */
export const agentReturnedSignal = defineSignal('agentReturned');

export const HANDOVER_WORKFLOW = 'handoverWorkflow';
