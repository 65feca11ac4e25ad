import { type Kysely, sql } from 'kysely';

// Migrations take Kysely<unknown>: they must not depend on today's schema types.
export async function up(db: Kysely<unknown>): Promise<void> {
  const id = sql`gen_random_uuid()::text`;
  const now = sql`now()`;

  await db.schema
    .createTable('offices')
    .addColumn('id', 'text', (c) => c.primaryKey().defaultTo(id))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('external_id', 'text', (c) => c.unique())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .execute();

  await db.schema
    .createTable('agents')
    .addColumn('id', 'text', (c) => c.primaryKey().defaultTo(id))
    .addColumn('office_id', 'text', (c) => c.notNull().references('offices.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('admin', 'agent')`))
    .addColumn('locale', 'text', (c) => c.notNull().defaultTo('en').check(sql`locale in ('ja', 'en')`))
    .addColumn('status', 'text', (c) =>
      c.notNull().defaultTo('active').check(sql`status in ('active', 'absent', 'leaving', 'offboarded')`),
    )
    .addColumn('external_id', 'text', (c) => c.unique())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .execute();
  await db.schema.createIndex('agents_office_idx').on('agents').columns(['office_id', 'id']).execute();
  await db.schema.createIndex('agents_email_idx').on('agents').column('email').execute();

  await db.schema
    .createTable('api_tokens')
    .addColumn('id', 'text', (c) => c.primaryKey().defaultTo(id))
    .addColumn('agent_id', 'text', (c) => c.notNull().references('agents.id'))
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .execute();

  await db.schema
    .createTable('lead_sources')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('office_id', 'text', (c) => c.notNull().references('offices.id'))
    .addColumn('default_assignee_id', 'text', (c) => c.references('agents.id'))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .execute();
  await db.schema.createIndex('lead_sources_assignee_idx').on('lead_sources').column('default_assignee_id').execute();

  await db.schema
    .createTable('customers')
    .addColumn('id', 'text', (c) => c.primaryKey().defaultTo(id))
    .addColumn('office_id', 'text', (c) => c.notNull().references('offices.id'))
    .addColumn('owner_id', 'text', (c) => c.references('agents.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('email', 'text')
    .addColumn('phone', 'text')
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('buyer', 'seller', 'both')`))
    .addColumn('subscribed', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('external_id', 'text', (c) => c.unique())
    .addColumn('trashed_at', 'timestamptz')
    .addColumn('purge_after', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .execute();
  // Keyset pagination by owner (the handover's plan query) and by office (lists).
  await db.schema.createIndex('customers_owner_idx').on('customers').columns(['owner_id', 'id']).execute();
  await db.schema.createIndex('customers_office_idx').on('customers').columns(['office_id', 'id']).execute();
  await db.schema
    .createIndex('customers_purge_idx')
    .on('customers')
    .column('purge_after')
    .where(sql.ref('purge_after'), 'is not', null)
    .execute();

  await db.schema
    .createTable('customer_records')
    .addColumn('id', 'text', (c) => c.primaryKey().defaultTo(id))
    .addColumn('customer_id', 'text', (c) => c.notNull().references('customers.id').onDelete('cascade'))
    .addColumn('type', 'text', (c) =>
      c.notNull().check(sql`type in ('task', 'appointment', 'visit_report', 'visit_block', 'note')`),
    )
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('due_at', 'timestamptz')
    .addColumn('assignee_id', 'text', (c) => c.references('agents.id'))
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('open').check(sql`status in ('open', 'done')`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .execute();
  await db.schema.createIndex('records_customer_idx').on('customer_records').columns(['customer_id', 'id']).execute();
  await db.schema
    .createIndex('records_open_assignee_idx')
    .on('customer_records')
    .columns(['assignee_id', 'id'])
    .where(sql.ref('status'), '=', 'open')
    .execute();

  await db.schema
    .createTable('callbacks')
    .addColumn('id', 'text', (c) => c.primaryKey().defaultTo(id))
    .addColumn('customer_id', 'text', (c) => c.references('customers.id').onDelete('set null'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('phone', 'text', (c) => c.notNull())
    .addColumn('starts_at', 'timestamptz', (c) => c.notNull())
    .addColumn('ends_at', 'timestamptz', (c) => c.notNull())
    .addColumn('assignee_id', 'text', (c) => c.references('agents.id'))
    .addColumn('campaign', 'text')
    .addColumn('note', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addColumn('updated_by', 'text')
    .execute();
  await db.schema
    .createIndex('callbacks_assignee_idx')
    .on('callbacks')
    .columns(['assignee_id', 'ends_at', 'id'])
    .execute();
  await db.schema.createIndex('callbacks_starts_idx').on('callbacks').columns(['starts_at', 'id']).execute();

  await db.schema
    .createTable('handovers')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('agent_id', 'text', (c) => c.references('agents.id'))
    .addColumn('office_id', 'text', (c) => c.notNull().references('offices.id'))
    .addColumn('request', 'jsonb', (c) => c.notNull())
    .addColumn('idempotency_key', 'text', (c) => c.unique())
    .addColumn('request_hash', 'text', (c) => c.notNull())
    .addColumn('started_by', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('phase', 'text', (c) => c.notNull())
    .addColumn('agent_prev_status', 'text')
    .addColumn('summary', 'jsonb')
    .addColumn('error', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addColumn('finished_at', 'timestamptz')
    .execute();
  // Invariant 7 held by the database itself: at most one unfinished handover per agent.
  await db.schema
    .createIndex('handovers_one_running_per_agent')
    .on('handovers')
    .column('agent_id')
    .unique()
    .where(sql.ref('status'), 'in', sql`('running', 'blocked')`)
    .execute();
  await db.schema.createIndex('handovers_agent_idx').on('handovers').columns(['agent_id', 'id']).execute();
  await db.schema.createIndex('handovers_office_idx').on('handovers').columns(['office_id', 'id']).execute();

  await db.schema
    .createTable('handover_moves')
    .addColumn('seq', 'bigserial', (c) => c.primaryKey())
    .addColumn('handover_id', 'text', (c) => c.notNull().references('handovers.id'))
    .addColumn('entity', 'text', (c) => c.notNull())
    .addColumn('entity_id', 'text', (c) => c.notNull())
    .addColumn('field', 'text', (c) => c.notNull())
    .addColumn('from_value', 'text')
    .addColumn('to_value', 'text')
    .addColumn('applied_at', 'timestamptz')
    .addColumn('reverted_at', 'timestamptz')
    .addColumn('conflict', 'text')
    .addUniqueConstraint('handover_moves_entity_unique', ['handover_id', 'entity', 'entity_id', 'field'])
    .execute();
  await db.schema
    .createIndex('handover_moves_batch_idx')
    .on('handover_moves')
    .columns(['handover_id', 'seq'])
    .execute();

  await db.schema
    .createTable('customer_history')
    .addColumn('seq', 'bigserial', (c) => c.primaryKey())
    .addColumn('customer_id', 'text', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addColumn('field', 'text', (c) => c.notNull())
    .addColumn('from_value', 'text')
    .addColumn('to_value', 'text')
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('handover_id', 'text')
    .execute();
  await db.schema
    .createIndex('customer_history_customer_idx')
    .on('customer_history')
    .columns(['customer_id', 'seq'])
    .execute();

  await db.schema
    .createTable('notification_outbox')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('handover_id', 'text')
    .addColumn('recipient_id', 'text', (c) => c.notNull())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('pending'))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addColumn('sent_at', 'timestamptz')
    .execute();
  await db.schema
    .createIndex('notification_outbox_handover_idx')
    .on('notification_outbox')
    .columns(['handover_id', 'status'])
    .execute();

  await db.schema
    .createTable('notification_settings')
    .addColumn('agent_id', 'text', (c) => c.notNull().references('agents.id'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('enabled', 'boolean', (c) => c.notNull())
    .addPrimaryKeyConstraint('notification_settings_pk', ['agent_id', 'kind'])
    .execute();

  await db.schema
    .createTable('hr_events')
    .addColumn('webhook_id', 'text', (c) => c.primaryKey())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('handover_id', 'text')
    .addColumn('received_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of [
    'hr_events',
    'notification_settings',
    'notification_outbox',
    'customer_history',
    'handover_moves',
    'handovers',
    'callbacks',
    'customer_records',
    'customers',
    'lead_sources',
    'api_tokens',
    'agents',
    'offices',
  ]) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
