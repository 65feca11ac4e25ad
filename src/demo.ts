/** `npm start -- --demo`: a small organisation to try a handover on within a minute. Idempotent. */
import { sql } from 'kysely';
import type { Db } from './db/connect';

export async function seedDemo(db: Db): Promise<string> {
  const existing = await db
    .selectFrom('agents')
    .select(['id', 'name'])
    .where('email', '=', 'xavier.sato@demo.test')
    .executeTakeFirst();
  if (existing) return hints(db);
  await db.transaction().execute(async (trx) => {
    const [tokyo, osaka] = await trx
      .insertInto('offices')
      .values([
        { name: 'Tokyo', external_id: 'office-tokyo' },
        { name: 'Osaka', external_id: 'office-osaka' },
      ])
      .returning('id')
      .execute();
    const agent = (office: string, name: string, role: 'admin' | 'agent', locale: 'ja' | 'en') => ({
      office_id: office,
      name,
      email: `${name.toLowerCase().replace(/ /g, '.')}@demo.test`,
      role,
      locale,
      external_id: `emp-${name.toLowerCase().replace(/ /g, '-')}`,
    });
    const agents = await trx
      .insertInto('agents')
      .values([
        agent(tokyo!.id, 'Aiko Admin', 'admin', 'ja'),
        agent(tokyo!.id, 'Xavier Sato', 'agent', 'en'),
        agent(tokyo!.id, 'Yuki Ito', 'agent', 'ja'),
        agent(tokyo!.id, 'Ken Mori', 'agent', 'ja'),
        agent(osaka!.id, 'Olivia Admin', 'admin', 'en'),
        agent(osaka!.id, 'Ren Abe', 'agent', 'ja'),
      ])
      .returning(['id', 'name'])
      .execute();
    const xavier = agents.find((a) => a.name === 'Xavier Sato')!.id;
    const yuki = agents.find((a) => a.name === 'Yuki Ito')!.id;
    await trx
      .insertInto('lead_sources')
      .values({ key: 'portal-suumo', name: 'SUUMO portal', office_id: tokyo!.id, default_assignee_id: xavier })
      .execute();
    // Xavier's book: 300 customers, every 10th unsubscribed, every 20th in the trash; Yuki has 40.
    for (const [owner, count] of [
      [xavier, 300],
      [yuki, 40],
    ] as const) {
      await sql`
        insert into customers (office_id, owner_id, name, kind, subscribed, trashed_at, purge_after)
        select ${tokyo!.id}, ${owner}, 'Customer ' || i, (array['buyer','seller','both'])[1 + i % 3], i % 10 <> 0,
               case when i % 20 = 0 then now() end, case when i % 20 = 0 then now() + interval '14 days' end
        from generate_series(1, ${count}) as i`.execute(trx);
    }
    await sql`
      insert into customer_records (customer_id, type, title, assignee_id, status)
      select c.id, (array['task','appointment','visit_report'])[r], 'Follow-up ' || r, c.owner_id,
             case when r = 3 then 'done' else 'open' end
      from customers c cross join generate_series(1, 3) as r`.execute(trx);
    await sql`
      insert into callbacks (name, phone, starts_at, ends_at, assignee_id, campaign)
      select 'Caller ' || i, '+81-3-1234-' || lpad(i::text, 4, '0'), now() + (i * 20 || ' minutes')::interval,
             now() + (i * 20 + 15 || ' minutes')::interval, ${xavier}, 'spring-fair'
      from generate_series(1, 10) as i`.execute(trx);
  });
  return hints(db);
}

async function hints(db: Db): Promise<string> {
  const rows = await db.selectFrom('agents').select(['id', 'name']).where('email', 'like', '%@demo.test').execute();
  const id = (name: string) => rows.find((r) => r.name === name)?.id ?? '?';
  const tokyo = await db
    .selectFrom('offices')
    .select('id')
    .where('external_id', '=', 'office-tokyo')
    .executeTakeFirst();
  return `Demo organisation ready (Tokyo, Osaka). Xavier Sato (${id('Xavier Sato')}) owns 300 customers and is the
default assignee of the lead source "portal-suumo", so his offboarding will wait for it.
In the console ($API/console, sign in with the token $TOKEN): Agents → Xavier Sato → Offboard.
Or in another terminal:
  export HANDOVER_URL=$API HANDOVER_TOKEN=$TOKEN
  npx handover offboard ${id('Xavier Sato')} --pool ${id('Yuki Ito')},${id('Ken Mori')} --strategy least-loaded
then route the lead source to Yuki and watch it finish:
  curl -X PUT $API/v1/lead-sources/portal-suumo -H "authorization: Bearer $HANDOVER_TOKEN" \\
       -H 'content-type: application/json' \\
       -d '{"name":"SUUMO portal","officeId":"${tokyo?.id}","defaultAssigneeId":"${id('Yuki Ito')}"}'
  npx handover recheck <handover id>`;
}
