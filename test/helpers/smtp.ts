import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface TestSmtp {
  url: string;
  mails: ParsedMail[];
  /** Recipients answered with 550 (a permanent failure). */
  rejectRecipients: Set<string>;
  /** While true, every mail gets 421 (a transient failure). */
  down: boolean;
  /** SMTP sessions opened so far (a pooled client reuses its few). */
  connections: number;
  waitForMails(count: number, timeoutMs?: number): Promise<ParsedMail[]>;
  close(): Promise<void>;
}

/** A real SMTP server on loopback that keeps every mail it accepts. */
export async function startTestSmtp(): Promise<TestSmtp> {
  const state: TestSmtp = {
    url: '',
    mails: [],
    rejectRecipients: new Set(),
    down: false,
    connections: 0,
    async waitForMails(count, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (state.mails.length < count) {
        if (Date.now() > deadline) {
          throw new Error(`expected ${count} mails, got ${state.mails.length}: ${state.mails.map((m) => m.subject)}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      return state.mails;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onConnect(_session, callback) {
      state.connections++;
      callback();
    },
    onRcptTo(address, _session, callback) {
      if (state.down) return callback(Object.assign(new Error('service not available'), { responseCode: 421 }));
      if (state.rejectRecipients.has(address.address)) {
        return callback(Object.assign(new Error('no such user'), { responseCode: 550 }));
      }
      callback();
    },
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then((mail) => {
          state.mails.push(mail);
          callback();
        })
        .catch(callback);
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  state.url = `smtp://127.0.0.1:${port}`;
  return state;
}
