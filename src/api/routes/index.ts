import type { ApiDeps, App } from '../app';
import { agentRoutes } from './agents';
import { callbackRoutes } from './callbacks';
import { consoleRoutes } from './console';
import { customerRoutes } from './customers';
import { bulkCustomerRoutes } from './customers-bulk';
import { handoverRoutes } from './handovers';
import { healthRoutes } from './health';
import { hrEventRoutes } from './hr-events';
import { importRoutes } from './imports';
import { integrityRoutes } from './integrity';
import { leadSourceRoutes } from './lead-sources';
import { meRoutes } from './me';
import { metricsRoutes } from './metrics';
import { notificationSettingRoutes } from './notification-settings';
import { officeRoutes } from './offices';
import { recordRoutes } from './records';
import { scimRoutes } from './scim';

export async function registerRoutes(app: App, deps: ApiDeps) {
  await metricsRoutes(app, deps); // first: its latency hook sees every route
  await healthRoutes(app, deps);
  await officeRoutes(app, deps);
  await meRoutes(app, deps);
  await handoverRoutes(app, deps);
  await agentRoutes(app, deps);
  await leadSourceRoutes(app, deps);
  await customerRoutes(app, deps);
  await bulkCustomerRoutes(app, deps);
  await importRoutes(app, deps);
  await recordRoutes(app, deps);
  await callbackRoutes(app, deps);
  await notificationSettingRoutes(app, deps);
  await hrEventRoutes(app, deps);
  await scimRoutes(app, deps);
  await integrityRoutes(app, deps);
  await consoleRoutes(app, deps);
}
