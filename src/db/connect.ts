import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './schema';

// bigint (count(*), bigserial) as JS numbers: our counts stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export type Db = Kysely<Database>;

export function createDb(connectionString: string, poolSize = 10): Db {
  const pool = new pg.Pool({ connectionString, max: poolSize });
  // When a connection's backend goes away (server restart, pg_terminate_backend, a network cut), pg emits
  // 'error' on the client — and on the pool if the client was idle. Kysely listens to neither, and an
  // unheard 'error' event is an uncaught exception that kills the whole process (worker or API). The
  // query in flight fails on its own (the activity is retried) and the pool drops the dead client when it
  // is released, so hearing the event is all it takes.
  const lost = (err: Error) => console.warn(`database connection lost: ${err.message}`);
  pool.on('connect', (client) => client.on('error', lost));
  pool.on('error', () => undefined); // an idle client's error: already told by the client's listener
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}
