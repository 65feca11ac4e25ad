import type { ApiDeps, App } from '../app';
import { healthRoutes } from './health';
import { officeRoutes } from './offices';

export async function registerRoutes(app: App, deps: ApiDeps) {
  await healthRoutes(app, deps);
  await officeRoutes(app, deps);
}
