export { handoverWorkflow } from './handover';
export { healHandoverWorkflow } from './heal';
export { integrityDigestWorkflow, trashPurgeWorkflow } from './maintenance';
