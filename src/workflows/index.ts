export { handoverWorkflow } from './handover';
export { integrityDigestWorkflow, trashPurgeWorkflow } from './maintenance';
