/**
 * The mailer keeps its SMTP connections (OPERATIONS.md: an office closing sends about 15 mails a
 * handover): mails sent one after another share a connection, and `?pool=false` in SMTP_URL
 * opens one per mail. A real SMTP server on loopback counts the sessions.
 */
import { afterEach, expect, test } from 'vitest';
import { createMailer, type Mailer } from '../../src/mail/transport';
import { startTestSmtp, type TestSmtp } from '../helpers/smtp';

let smtp: TestSmtp | undefined;
let mailer: Mailer | undefined;
afterEach(async () => {
  mailer?.close();
  await smtp?.close();
});

async function sendTen(url: string) {
  mailer = createMailer({ smtpUrl: url, from: 'handover@test.local', outboxDir: '' });
  for (let i = 0; i < 10; i++) {
    await mailer.send({ to: `a${i}@test.local`, subject: `mail ${i}`, text: 'hello', messageId: `<pool-${i}@test>` });
  }
  expect((await smtp!.waitForMails(10)).map((m) => m.subject)).toEqual(
    Array.from({ length: 10 }, (_, i) => `mail ${i}`),
  );
}

test('ten mails one after another go over one pooled connection', async () => {
  smtp = await startTestSmtp();
  await sendTen(smtp.url);
  expect(smtp.connections).toBe(1);
});

test('SMTP_URL with pool=false: a connection per mail', async () => {
  smtp = await startTestSmtp();
  await sendTen(`${smtp.url}?pool=false`);
  expect(smtp.connections).toBe(10);
});
