import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { htmlOf } from './html';

export interface Mail {
  to: string;
  subject: string;
  text: string;
  /** Stable across retries, so a receiving side can drop a duplicate. */
  messageId: string;
}

export interface Mailer {
  send(mail: Mail): Promise<void>;
  close(): void;
}

/** A failure that retrying cannot fix (SMTP 5xx, e.g. an unknown recipient). */
export class PermanentMailError extends Error {}

/** SMTP when `smtpUrl` is set; otherwise each mail is written as an `.eml` file to `outboxDir`. */
export function createMailer(options: { smtpUrl?: string; from: string; outboxDir: string }): Mailer {
  if (options.smtpUrl) return smtpMailer(options.smtpUrl, options.from);
  return fileMailer(options.outboxDir, options.from);
}

function smtpMailer(smtpUrl: string, from: string): Mailer {
  // Pooled unless the URL says `pool=false`: an office closing sends thousands of mails, and a
  // connection (TCP, TLS, AUTH) per mail costs more than the mail.
  const url = new URL(smtpUrl);
  if (!url.searchParams.has('pool')) url.searchParams.set('pool', 'true');
  const transport = nodemailer.createTransport(url.toString());
  return {
    async send(mail) {
      try {
        await transport.sendMail({
          from,
          to: mail.to,
          subject: mail.subject,
          text: mail.text,
          html: htmlOf(mail.text),
          messageId: mail.messageId,
        });
      } catch (err) {
        const code = (err as { responseCode?: number }).responseCode;
        if (code !== undefined && code >= 500) {
          throw new PermanentMailError(`SMTP refused mail to ${mail.to} (${code}): ${(err as Error).message}`);
        }
        throw err;
      }
    },
    close: () => transport.close(),
  };
}

function fileMailer(outboxDir: string, from: string): Mailer {
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  return {
    async send(mail) {
      const info = await transport.sendMail({
        from,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        html: htmlOf(mail.text),
        messageId: mail.messageId,
      });
      await mkdir(outboxDir, { recursive: true });
      const name = `${new Date().toISOString().replace(/[:.]/g, '-')}-${mail.messageId.replace(/[^\w.-]/g, '_')}.eml`;
      await writeFile(join(outboxDir, name), info.message as Buffer);
    },
    close: () => transport.close(),
  };
}
