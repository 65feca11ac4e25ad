import { describe, expect, test } from 'vitest';
import { loadConfig, maskCredentials } from '../../src/config';

describe('move settings', () => {
  test('default to batches of 10000 in 2 lanes', () => {
    const config = loadConfig({});
    expect([config.moveBatchSize, config.moveLanes]).toEqual([10000, 2]);
  });

  test('are read from the environment', () => {
    const config = loadConfig({ MOVE_BATCH_SIZE: '250', MOVE_LANES: '3' });
    expect([config.moveBatchSize, config.moveLanes]).toEqual([250, 3]);
  });

  test.each(['0', '-1', '1.5', 'two'])('refuse %s at start, naming the setting', (bad) => {
    expect(() => loadConfig({ MOVE_LANES: bad })).toThrow(`MOVE_LANES must be a positive integer, got "${bad}"`);
    expect(() => loadConfig({ MOVE_BATCH_SIZE: bad })).toThrow('MOVE_BATCH_SIZE must be a positive integer');
  });
});

describe('every setting is checked at start', () => {
  test.each([
    ['TRASH_RETENTION_DAYS', 'fourteen', 'TRASH_RETENTION_DAYS must be a positive integer'],
    ['TRASH_RETENTION_DAYS', '0', 'TRASH_RETENTION_DAYS must be a positive integer'],
    ['TRASH_RETENTION_DAYS', '1e3', 'TRASH_RETENTION_DAYS must be a positive integer'],
    ['PORT', '70000', 'PORT must be an integer from 0 to 65535'],
    ['PORT', 'http', 'PORT must be an integer from 0 to 65535'],
    ['SMTP_URL', 'mailpit:1025', 'SMTP_URL must be a smtp: or smtps: URL'],
    ['DATABASE_URL', 'not a url', 'DATABASE_URL is not a URL'],
    ['PUBLIC_URL', 'ftp://example.test', 'PUBLIC_URL must be a http: or https: URL'],
  ])('%s=%s fails the start, naming the variable', (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(message);
  });

  test('TRASH_RETENTION_DAYS defaults to 14 and is read as a number', () => {
    expect(loadConfig({}).trashRetentionDays).toBe(14);
    expect(loadConfig({ TRASH_RETENTION_DAYS: '30' }).trashRetentionDays).toBe(30);
  });
});

describe('credentials are masked wherever a URL is printed', () => {
  test.each([
    ['smtp://user:s3cret@mail.example.test:587', 'smtp://user:***@mail.example.test:587'],
    ['postgres://postgres:pa%40ss@127.0.0.1:5432/handover', 'postgres://postgres:***@127.0.0.1:5432/handover'],
    ['smtp://mailpit:1025', 'smtp://mailpit:1025'],
  ])('%s', (url, masked) => {
    expect(maskCredentials(url)).toBe(masked);
  });

  test('a bad URL in an error message is masked too', () => {
    expect(() => loadConfig({ SMTP_URL: 'http://u:topsecret@x' })).toThrow(/u:\*\*\*@x/);
    expect(() => loadConfig({ SMTP_URL: 'http://u:topsecret@x' })).not.toThrow(/topsecret/);
  });
});

// API.md, Configuration: the defaults it names, and each setting read when given.
describe('Temporal, HTTP and mail settings', () => {
  test('default to PORT 3000, TEMPORAL_NAMESPACE default, TEMPORAL_TASK_QUEUE handover; TEMPORAL_ADDRESS unset', () => {
    const config = loadConfig({});
    expect(config.port).toBe(3000);
    expect(config.temporalNamespace).toBe('default');
    expect(config.taskQueue).toBe('handover');
    // Unset: `npm start` runs an embedded dev server (tested end to end in contract-clauses-mail-config.test.ts).
    expect(config.temporalAddress).toBeUndefined();
    expect(config.publicUrl).toBe('http://127.0.0.1:3000');
  });

  test('are read from the environment', () => {
    const config = loadConfig({
      PORT: '8080',
      TEMPORAL_ADDRESS: 'temporal.internal:7233',
      TEMPORAL_NAMESPACE: 'handover-staging',
      TEMPORAL_TASK_QUEUE: 'handover-eu',
    });
    expect(config).toMatchObject({
      port: 8080,
      temporalAddress: 'temporal.internal:7233',
      temporalNamespace: 'handover-staging',
      taskQueue: 'handover-eu',
    });
  });

  test('PORT 0 is allowed (the system picks a free port)', () => {
    expect(loadConfig({ PORT: '0' }).port).toBe(0);
  });

  test('MAIL_FROM is the sender, Handover <handover@localhost> when unset (README)', () => {
    expect(loadConfig({}).mailFrom).toBe('Handover <handover@localhost>');
    expect(loadConfig({ MAIL_FROM: 'Handover Desk <desk@example.test>' }).mailFrom).toBe(
      'Handover Desk <desk@example.test>',
    );
  });

  test('without SMTP_URL mail goes to files in MAIL_OUTBOX_DIR (data/outbox when unset)', () => {
    expect(loadConfig({}).smtpUrl).toBeUndefined();
    expect(loadConfig({}).mailOutboxDir).toBe('data/outbox');
    expect(loadConfig({ MAIL_OUTBOX_DIR: '/var/spool/handover' }).mailOutboxDir).toBe('/var/spool/handover');
    expect(loadConfig({ SMTP_URL: 'smtp://mail.example.test:25' }).smtpUrl).toBe('smtp://mail.example.test:25');
  });
});

test('a setting set to the empty string counts as unset (FOO= in a compose file)', () => {
  const config = loadConfig({
    DATABASE_URL: '',
    TEMPORAL_NAMESPACE: '',
    TEMPORAL_TASK_QUEUE: '',
    MAIL_FROM: '',
    MAIL_OUTBOX_DIR: '',
    PUBLIC_URL: '',
  });
  expect(config).toMatchObject({
    databaseUrl: 'postgres://postgres@127.0.0.1:5432/handover',
    temporalNamespace: 'default',
    taskQueue: 'handover',
    mailFrom: 'Handover <handover@localhost>',
    mailOutboxDir: 'data/outbox',
    publicUrl: 'http://127.0.0.1:3000',
  });
});
