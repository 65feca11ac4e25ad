/** The workflow's public surface, imported by the API client as well as by the workflow. */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { HandoverState } from '../domain/handover';

export const stateQuery = defineQuery<HandoverState>('state');
/** Re-check `blockedBy` now instead of at the next interval. */
export const recheckSignal = defineSignal('recheck');

export const HANDOVER_WORKFLOW = 'handoverWorkflow';
