import type { Config } from '../config';
import type { Db } from '../db/connect';
import type { Mailer } from '../mail/transport';
import { handoverStepActivities } from './handover-steps';
import { maintenanceActivities } from './maintenance';
import { notificationActivities } from './notifications';

export interface ActivityDeps {
  db: Db;
  mailer: Mailer;
  config: Config;
}

export function createActivities({ db, mailer, config }: ActivityDeps) {
  return {
    ...handoverStepActivities(db, config.moveBatchSize, config.moveLanes),
    ...notificationActivities(db, mailer, config),
    ...maintenanceActivities(db, mailer, config),
  };
}

export type Activities = ReturnType<typeof createActivities>;
