export { handoverWorkflow } from './handover';
