import { fileURLToPath } from 'node:url';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createMailer } from '../../src/mail/transport';
import type { ChainActivities } from '../fixtures/chain-workflow';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { startTestSmtp, type TestSmtp } from '../helpers/smtp';
import { connectTemporal, uniqueTaskQueue } from '../helpers/temporal';

let database: TestDatabase;
let smtp: TestSmtp;
let temporal: Awaited<ReturnType<typeof connectTemporal>>;

beforeAll(async () => {
  [database, smtp, temporal] = await Promise.all([createTestDatabase('chain'), startTestSmtp(), connectTemporal()]);
});
afterAll(async () => {
  await temporal?.close();
  await smtp?.close();
  await database?.drop();
});

test('a workflow on the dev server runs an activity that writes to PostgreSQL and mails over SMTP', async () => {
  const mailer = createMailer({ smtpUrl: smtp.url, from: 'handover@test.local', outboxDir: '' });
  const activities: ChainActivities = {
    async recordAndMail(officeName, to) {
      const office = await database.db
        .insertInto('offices')
        .values({ name: officeName })
        .returning('id')
        .executeTakeFirstOrThrow();
      await mailer.send({
        to,
        subject: `office ${officeName} created`,
        text: office.id,
        messageId: `<${office.id}@test>`,
      });
      return office.id;
    },
  };
  const taskQueue = uniqueTaskQueue('chain');
  const worker = await Worker.create({
    connection: temporal.nativeConnection,
    taskQueue,
    workflowsPath: fileURLToPath(new URL('../fixtures/chain-workflow.ts', import.meta.url)),
    activities,
  });
  const officeId = await worker.runUntil(
    temporal.client.workflow.execute('chainWorkflow', {
      taskQueue,
      workflowId: `chain-${taskQueue}`,
      args: ['Osaka', 'someone@example.test'],
    }),
  );
  mailer.close();

  const office = await database.db.selectFrom('offices').selectAll().where('id', '=', officeId).executeTakeFirst();
  expect(office?.name).toBe('Osaka');
  const [mail] = await smtp.waitForMails(1);
  expect(mail?.subject).toBe('office Osaka created');
  expect(mail?.text?.trim()).toBe(officeId);
  expect(mail?.to && 'text' in mail.to ? mail.to.text : '').toBe('someone@example.test');
});
