/**
 * SCIM 2.0 `Users` (RFC 7643/7644), the minimum Okta, Entra ID and the like need to provision
 * agents and deprovision them. `userName` is the agent's e-mail, `externalId` its externalId,
 * the office comes from the enterprise extension's `department` (an office externalId).
 * Deprovisioning (`active: false` by PATCH or PUT) starts one offboard per agent, however often
 * the IdP repeats it. Auth: `Bearer <SCIM_TOKEN>`; errors are SCIM error bodies.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyError } from 'fastify';
import { sql } from 'kysely';
import { Type } from 'typebox';
import type { ApiDeps, App } from '../app';
import { sameSecret } from '../auth';
import { start } from '../handovers/start';
import { RUNNING } from '../handovers/view';
import { endRunningCovers, INTEGRATION_ACTOR, officePool } from '../integrations/pool';
import { Problem } from '../problem';
import {
  type AgentWithOffice,
  type Changes,
  checkLengths,
  deprovisionKey,
  ENTERPRISE,
  filterValue,
  fromOperation,
  fromResource,
  LIST_SCHEMA,
  localeOf,
  MAX_RESULTS,
  nameOf,
  PATCH_SCHEMA,
  SCIM_MEDIA_TYPE,
  ScimError,
  scimErrorBody,
  toScimError,
  USER_SCHEMA,
} from './scim-resource';

export async function scimRoutes(app: App, deps: ApiDeps) {
  const { db, config } = deps;

  await app.register(
    async (plain) => {
      const scope = plain.withTypeProvider<TypeBoxTypeProvider>();
      const jsonParser = scope.getDefaultJsonParser('error', 'error');
      scope.addContentTypeParser(SCIM_MEDIA_TYPE, { parseAs: 'string' }, jsonParser);

      scope.addHook('onRequest', async (request) => {
        const token = request.headers.authorization?.match(/^Bearer\s+(\S+)$/i)?.[1];
        if (!config.scimToken) throw new ScimError(401, 'SCIM is not configured (SCIM_TOKEN is unset)');
        if (!token || !sameSecret(token, config.scimToken)) {
          throw new ScimError(401, 'send Authorization: Bearer <SCIM_TOKEN>');
        }
      });
      scope.addHook('onSend', async (_request, reply, payload) => {
        if (String(reply.getHeader('content-type') ?? '').startsWith('application/json')) {
          reply.header('content-type', `${SCIM_MEDIA_TYPE}; charset=utf-8`);
        }
        return payload;
      });
      scope.setErrorHandler((error: FastifyError | Problem | ScimError, request, reply) => {
        const e = toScimError(error);
        if (e.status >= 500) request.log.error(error);
        reply
          .status(e.status)
          .type(SCIM_MEDIA_TYPE)
          .send(scimErrorBody(e.status, e.detail, e.scimType));
      });
      scope.setNotFoundHandler((request) => {
        throw new ScimError(404, `no SCIM endpoint ${request.method} ${request.url.split('?')[0]}`);
      });

      // A User is a few KB even with every attribute an IdP sends (its bodies are open objects, so no limit is derived).
      const route = { bodyLimit: 64 * 1024, schema: { tags: ['SCIM'], security: [{ scim: [] }] } };

      scope.get('/ServiceProviderConfig', route, async () => ({
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
        documentationUri: `${config.publicUrl}/docs`,
        patch: { supported: true },
        bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
        filter: { supported: true, maxResults: MAX_RESULTS },
        changePassword: { supported: false },
        sort: { supported: false },
        etag: { supported: false },
        authenticationSchemes: [
          {
            type: 'oauthbearertoken',
            name: 'Bearer token',
            description: 'Authorization: Bearer <SCIM_TOKEN>',
            primary: true,
          },
        ],
        meta: { resourceType: 'ServiceProviderConfig', location: `${config.publicUrl}/scim/v2/ServiceProviderConfig` },
      }));

      scope.get(
        '/Users',
        {
          schema: {
            ...route.schema,
            querystring: Type.Object({
              filter: Type.Optional(Type.String({ maxLength: 1000 })),
              startIndex: Type.Optional(Type.Integer({ minimum: 1 })),
              count: Type.Optional(Type.Integer({ minimum: 0 })),
            }),
          },
        },
        async (request) => {
          const { filter } = request.query;
          const startIndex = request.query.startIndex ?? 1;
          const count = Math.min(request.query.count ?? 100, MAX_RESULTS);
          let query = users();
          if (filter !== undefined) {
            const m = filter.trim().match(/^(userName|externalId)\s+eq\s+"((?:[^"\\]|\\.)*)"$/i);
            if (!m) {
              throw new ScimError(
                400,
                'only `userName eq "..."` and `externalId eq "..."` filters are supported',
                'invalidFilter',
              );
            }
            const value = filterValue(m[2]!);
            // userName is case-insensitive (RFC 7643 caseExact: false); externalId is case-exact.
            query =
              m[1]!.toLowerCase() === 'username'
                ? query.where(sql<boolean>`lower(agents.email) = lower(${value})`)
                : query.where('agents.external_id', '=', value);
          }
          const total = await db
            .selectFrom(query.as('matched'))
            .select((eb) => eb.fn.countAll<string>().as('n'))
            .executeTakeFirstOrThrow();
          const rows =
            count === 0
              ? []
              : await query
                  .orderBy('agents.id')
                  .offset(startIndex - 1)
                  .limit(count)
                  .execute();
          return {
            schemas: [LIST_SCHEMA],
            totalResults: Number(total.n),
            startIndex,
            itemsPerPage: rows.length,
            Resources: rows.map(toUser),
          };
        },
      );

      scope.get(
        '/Users/:id',
        { ...route, schema: { ...route.schema, params: Type.Object({ id: Type.String({ maxLength: 100 }) }) } },
        async (request) => toUser(await load(request.params.id)),
      );

      scope.post('/Users', { ...route, schema: { ...route.schema, body: Type.Object({}) } }, async (request, reply) => {
        const changes = fromResource(request.body);
        if (!changes.userName) throw new ScimError(400, 'userName (the e-mail address) is required', 'invalidValue');
        checkLengths(changes);
        if (!changes.department) {
          throw new ScimError(
            400,
            `the office is required: send ${ENTERPRISE}.department with the office's externalId`,
            'invalidValue',
          );
        }
        const officeId = await officeByExternalId(changes.department);
        await checkUnique(changes, undefined);
        const row = await db
          .insertInto('agents')
          .values({
            office_id: officeId,
            name: nameOf(changes) ?? changes.userName,
            email: changes.userName,
            role: 'agent',
            locale: localeOf(changes.locale) ?? 'en',
            // Provisioned as inactive: it never starts and owns nothing, so there is nothing to hand
            // over; it is created deactivated in the same statement (all or nothing, no handover).
            status: changes.active === false ? 'offboarded' : 'active',
            external_id: changes.externalId ?? null,
            updated_at: new Date(),
          })
          .returning('id')
          .executeTakeFirstOrThrow();
        const user = await load(row.id);
        return reply.status(201).header('location', `${config.publicUrl}/scim/v2/Users/${row.id}`).send(toUser(user));
      });

      scope.put(
        '/Users/:id',
        {
          ...route,
          schema: {
            ...route.schema,
            params: Type.Object({ id: Type.String({ maxLength: 100 }) }),
            body: Type.Object({}),
          },
        },
        async (request) => {
          const current = await load(request.params.id);
          const changes = fromResource(request.body);
          if (!changes.userName) throw new ScimError(400, 'userName (the e-mail address) is required', 'invalidValue');
          // A replace: an externalId left out is cleared, as RFC 7644 §3.5.1 says.
          return toUser(await apply(current, { externalId: null, ...changes }));
        },
      );

      scope.patch(
        '/Users/:id',
        {
          ...route,
          schema: {
            ...route.schema,
            params: Type.Object({ id: Type.String({ maxLength: 100 }) }),
            body: Type.Object({
              schemas: Type.Optional(Type.Array(Type.String())),
              Operations: Type.Array(
                Type.Object({
                  op: Type.String(),
                  path: Type.Optional(Type.String()),
                  value: Type.Optional(Type.Unknown()),
                }),
                { minItems: 1, maxItems: 100 },
              ),
            }),
          },
        },
        async (request) => {
          const { schemas, Operations } = request.body;
          if (schemas && !schemas.includes(PATCH_SCHEMA)) {
            throw new ScimError(400, `a PATCH body has schemas ["${PATCH_SCHEMA}"]`, 'invalidSyntax');
          }
          const current = await load(request.params.id);
          const changes: Changes = {};
          for (const op of Operations) Object.assign(changes, fromOperation(op));
          return toUser(await apply(current, changes));
        },
      );
    },
    { prefix: '/scim/v2' },
  );

  function users() {
    return db
      .selectFrom('agents')
      .innerJoin('offices', 'offices.id', 'agents.office_id')
      .selectAll('agents')
      .select('offices.external_id as office_external_id')
      .select((eb) =>
        eb
          .exists(
            eb
              .selectFrom('handovers')
              .select('handovers.id')
              .whereRef('handovers.agent_id', '=', 'agents.id')
              .where('handovers.kind', '=', 'offboard')
              .where('handovers.status', 'in', [...RUNNING]),
          )
          .as('deprovisioning'),
      );
  }

  async function load(id: string): Promise<AgentWithOffice> {
    const row = await users().where('agents.id', '=', id).executeTakeFirst();
    if (!row) throw new ScimError(404, `User ${id} not found`);
    return row;
  }

  async function officeByExternalId(externalId: string): Promise<string> {
    const office = await db.selectFrom('offices').select('id').where('external_id', '=', externalId).executeTakeFirst();
    if (!office) throw new ScimError(400, `no office has externalId ${externalId} (department)`, 'invalidValue');
    return office.id;
  }

  /** 409 uniqueness: userName among agents that are not offboarded, externalId among all. */
  async function checkUnique(changes: Changes, selfId: string | undefined) {
    if (changes.userName) {
      let q = db
        .selectFrom('agents')
        .select('id')
        .where(sql<boolean>`lower(email) = lower(${changes.userName})`)
        .where('status', '!=', 'offboarded');
      if (selfId) q = q.where('id', '!=', selfId);
      const taken = await q.executeTakeFirst();
      if (taken) throw new ScimError(409, `userName ${changes.userName} is already User ${taken.id}`, 'uniqueness');
    }
    if (changes.externalId) {
      let q = db.selectFrom('agents').select('id').where('external_id', '=', changes.externalId);
      if (selfId) q = q.where('id', '!=', selfId);
      const taken = await q.executeTakeFirst();
      if (taken) throw new ScimError(409, `externalId ${changes.externalId} is already User ${taken.id}`, 'uniqueness');
    }
  }

  /** Applies attribute changes, then deprovisioning; answers the User as it is now. */
  async function apply(current: AgentWithOffice, changes: Changes): Promise<AgentWithOffice> {
    checkLengths(changes);
    if (changes.department !== undefined && changes.department !== current.office_external_id) {
      throw new ScimError(
        400,
        `User ${current.id} is in office ${current.office_external_id ?? current.office_id}; an agent changes office ` +
          'by a transfer handover (HR employee.transferred or POST /v1/handovers), which moves its customers too',
        'mutability',
      );
    }
    if (changes.active === true && (current.status === 'offboarded' || !!current.deprovisioning)) {
      throw new ScimError(
        409,
        `User ${current.id} is ${current.status === 'offboarded' ? 'offboarded' : 'being offboarded'}; it cannot be reactivated`,
      );
    }
    await checkUnique(changes, current.id);
    const name = nameOf(changes);
    const locale = localeOf(changes.locale);
    const set = {
      ...(changes.userName !== undefined && changes.userName !== current.email ? { email: changes.userName } : {}),
      ...(changes.externalId !== undefined && changes.externalId !== current.external_id
        ? { external_id: changes.externalId }
        : {}),
      ...(name !== undefined && name !== current.name ? { name } : {}),
      ...(locale !== undefined && locale !== current.locale ? { locale } : {}),
    };
    if (Object.keys(set).length > 0) {
      await db
        .updateTable('agents')
        .set({ ...set, updated_at: new Date() })
        .where('id', '=', current.id)
        .execute();
    }
    if (changes.active === false) await deprovision(current);
    return load(current.id);
  }

  /**
   * One offboard per deprovisioning, to the other active agents of its office (least-loaded),
   * however often the IdP repeats it while that offboard runs or after it completed; concurrent
   * repeats share the attempt's key and meet in `start`. A running cover is ended first.
   */
  async function deprovision(agent: AgentWithOffice): Promise<void> {
    if (agent.status === 'offboarded' || agent.deprovisioning) return; // already gone, or going (e.g. by HR)
    const earlier = await db
      .selectFrom('handovers')
      .select(['status'])
      .where('agent_id', '=', agent.id)
      .where(sql<boolean>`starts_with(idempotency_key, ${deprovisionKey(agent.id, 0).slice(0, -1)})`)
      .orderBy('created_at', 'desc')
      .execute();
    if (earlier[0] && (RUNNING.includes(earlier[0].status as never) || earlier[0].status === 'completed')) return;
    const key = deprovisionKey(agent.id, earlier.length + 1);
    await endRunningCovers(db, deps.temporal, agent.id);
    const to = await officePool(db, agent.office_id, agent.id, 'active');
    try {
      await start(
        deps,
        INTEGRATION_ACTOR,
        // The pool is computed again when planning starts (poolOfOffice): whoever is active then.
        { kind: 'offboard', agentId: agent.id, to, reason: 'SCIM deprovisioning (active: false)', poolOfOffice: true },
        key,
      );
    } catch (err) {
      // Someone else started its offboard meanwhile: that is the deprovisioning.
      if (err instanceof Problem && err.status === 409 && (await load(agent.id)).deprovisioning) return;
      throw err;
    }
  }

  function toUser(row: AgentWithOffice) {
    const location = `${config.publicUrl}/scim/v2/Users/${row.id}`;
    return {
      schemas: [USER_SCHEMA, ENTERPRISE],
      id: row.id,
      externalId: row.external_id ?? undefined,
      userName: row.email,
      name: { formatted: row.name },
      displayName: row.name,
      emails: [{ value: row.email, type: 'work', primary: true }],
      locale: row.locale,
      preferredLanguage: row.locale,
      active: row.status !== 'offboarded' && !row.deprovisioning,
      [ENTERPRISE]: { ...(row.office_external_id ? { department: row.office_external_id } : {}) },
      meta: {
        resourceType: 'User',
        created: row.created_at.toISOString(),
        lastModified: row.updated_at.toISOString(),
        location,
      },
    };
  }
}
