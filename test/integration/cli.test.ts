import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ADMIN_TOKEN } from '../helpers/api';
import { createHandoverEnv, type HandoverEnv, seedAgent, seedBook, seedOffice } from '../helpers/handover-env';

let env: HandoverEnv;
let url: string;
beforeAll(async () => {
  env = await createHandoverEnv('cli');
  await env.startWorker();
  url = await env.api.app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(() => env?.close());

/** Runs `handover …` as a user would, against the API on loopback. */
function handover(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['bin/handover.mjs', ...args],
      { env: { ...process.env, HANDOVER_URL: url, HANDOVER_TOKEN: ADMIN_TOKEN } },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('the handover CLI', () => {
  test('--help prints the usage on stdout and exits 0; no command is bad usage (exit 2)', async () => {
    const help = await handover('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('offboard');
    const bare = await handover();
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('offboard');
  });

  test('offboard follows the handover to the end; --json for machines; exit code 0', async () => {
    const office = await seedOffice(env.db);
    const leaver = await seedAgent(env.db, office);
    const successor = await seedAgent(env.db, office);
    await seedBook(env.db, office, leaver, 12, 1);
    const run = await handover('offboard', leaver, '--to', successor, '--json');
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout.trim().split('\n').pop()!);
    expect(result).toMatchObject({ status: 'completed', summary: { customers: 12 } });
    const ls = await handover('ls', '--agent', leaver);
    expect(ls.stdout).toContain(result.id);
  });

  test('a blocked handover says which lead source and what to do; cancel ends it', async () => {
    const office = await seedOffice(env.db);
    const leaver = await seedAgent(env.db, office);
    const successor = await seedAgent(env.db, office);
    await env.db
      .insertInto('lead_sources')
      .values({ key: `cli-${office.slice(0, 6)}`, name: 'Portal CLI', office_id: office, default_assignee_id: leaver })
      .execute();
    const started = await handover('offboard', leaver, '--to', successor, '--no-wait', '--json');
    expect(started.code).toBe(0);
    const { id } = JSON.parse(started.stdout);
    let status = '';
    for (let i = 0; i < 50 && !status.includes('BLOCKED'); i++) {
      status = (await handover('status', id)).stdout;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(status).toContain('BLOCKED');
    expect(status).toContain('Portal CLI');
    expect(status).toContain(`handover recheck ${id}`);
    expect((await handover('cancel', id)).code).toBe(0);
  });

  test('exit codes: 2 for bad usage, 3 for a refusal with the problem detail', async () => {
    expect((await handover('offboard')).code).toBe(2);
    const refused = await handover('offboard', 'no-such-agent', '--to', 'nobody');
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('does not exist');
  });
});
