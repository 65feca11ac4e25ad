import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Client } from '@temporalio/client';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Config } from '../config';
import type { Db } from '../db/connect';
import { type Actor, authenticate, mayWrite } from './auth';
import { badRequest, databaseInputProblem, forbidden, Problem } from './problem';
import { registerRoutes } from './routes';
import { HR_EVENTS_PATH } from './routes/hr-events';
import { SCIM_MEDIA_TYPE, scimErrorBody } from './routes/scim-resource';
import { bodyLimitFor, buildValidator, containerCounter, type JsonSchema, maxContainers } from './validation';

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface ApiDeps {
  db: Db;
  config: Config;
  temporal: Client;
  /** Answers whether Temporal is reachable, for /readyz. */
  temporalReady: () => Promise<boolean>;
}

declare module 'fastify' {
  interface FastifyRequest {
    actor: Actor;
  }
  interface FastifyContextConfig {
    /** Objects and arrays a valid body can hold (validation.ts), checked before JSON.parse. */
    maxContainers?: number;
    /** A write a plain agent may make on what is its own (its notification settings). */
    selfService?: boolean;
  }
}

export type App = FastifyInstance<
  import('node:http').Server,
  import('node:http').IncomingMessage,
  import('node:http').ServerResponse,
  import('fastify').FastifyBaseLogger,
  TypeBoxTypeProvider
>;

/**
 * For a route without a body schema: it takes no body, so this only leaves room for the `{}` or
 * `null` a client library may send anyway. A route with one gets the limit its largest valid input
 * needs (validation.ts). Larger bodies are refused with 413 before parsing.
 */
const DEFAULT_BODY_LIMIT = 1024;

/**
 * Objects and arrays a body may hold past what any valid one does before it is refused unparsed.
 * A few too many are left to the schema, whose 400 names the field (an array where a string
 * belongs: API.md's `errors`); a memory bomb has millions and is still refused as it streams in.
 */
const CONTAINER_SLACK = 1000;

export async function buildApp(deps: ApiDeps, options: { logger?: boolean } = {}): Promise<App> {
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: DEFAULT_BODY_LIMIT,
    schemaController: { compilersFactory: { buildValidator } },
    // A URL that is not validly percent-encoded, or a path parameter over 100 characters, is refused
    // before routing; without this Fastify answers a plain application/json body (and 414 for the latter).
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      const detail =
        error.code === 'FST_ERR_MAX_PARAM_LENGTH'
          ? 'a path parameter is longer than 100 characters'
          : `the URL is not validly percent-encoded: ${request.url.split('?')[0]}`;
      if (request.url.startsWith('/scim/')) {
        reply
          .status(400)
          .type(SCIM_MEDIA_TYPE)
          .send(scimErrorBody(400, detail, 'invalidValue'));
      } else {
        reply
          .status(400)
          .type('application/problem+json')
          .send(new Problem(400, 'Bad Request', detail).toJSON());
      }
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // A plain value (null until the onRequest hook sets it): a getter-only decorator cannot be assigned.
  app.decorateRequest('actor', null as never);
  app.addHook('onRoute', (route) => {
    const body = (route.schema as { body?: JsonSchema } | undefined)?.body;
    if (!body) return;
    if (route.bodyLimit === undefined) route.bodyLimit = bodyLimitFor(body);
    route.config = { ...route.config, maxContainers: maxContainers(body) };
  });
  app.addHook('onRequest', async (request) => {
    // Decided on the route that serves the request, after decoding (`/%761/offices`, an
    // absolute-form request line and HEAD reach /v1/offices too), never on the raw URL. HR
    // webhooks carry a signature instead (checked by their route); /scim/ has its own token.
    const route = request.routeOptions.url;
    if (route?.startsWith('/v1/') && route !== HR_EVENTS_PATH) {
      request.actor = await authenticate(deps.db, deps.config.adminToken, request.headers.authorization);
    }
  });
  // Before the body is read: a plain agent may only read (API.md, Auth), so its writes are
  // refused without parsing or validating what it sent.
  app.addHook('preParsing', async (request, _reply, payload) => {
    const { selfService, maxContainers: limit } = request.routeOptions.config;
    if (request.actor && !READS.has(request.method) && !selfService && !mayWrite(request.actor)) {
      throw forbidden('an agent may read its own customers and callbacks only');
    }
    // A body with more objects and arrays than any valid one is refused while it streams in.
    if (limit === undefined || !Number.isFinite(limit)) return payload;
    const what = `${request.method} ${request.routeOptions.url}`;
    const tooMany = () => badRequest(`the body holds more objects and arrays than any valid ${what} body (${limit})`);
    const counted = containerCounter(limit + CONTAINER_SLACK, tooMany);
    // Fastify listens while it reads the body; after an early answer (413 by Content-Length) an
    // error of the stream must not go unheard, or it would end the process.
    counted.on('error', () => undefined);
    return payload.pipe(counted);
  });

  app.setErrorHandler((error: FastifyError | Problem, request, reply) => {
    const problem = toProblem(error);
    if (problem.status >= 500) request.log.error(error);
    reply.status(problem.status).type('application/problem+json').send(problem.toJSON());
  });
  app.setNotFoundHandler((request, reply) => {
    const problem = new Problem(404, 'Not Found', `no route ${request.method} ${request.url.split('?')[0]}`);
    reply.status(404).type('application/problem+json').send(problem.toJSON());
  });

  // The OpenAPI document is generated from the same schemas that validate requests.
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Handover service',
        version: '1',
        description: "Hands an agent's customers to successors as a durable saga.",
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          scim: { type: 'http', scheme: 'bearer', description: 'SCIM_TOKEN' },
        },
      },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await registerRoutes(app, deps);
  return app;
}

function toProblem(error: FastifyError | Problem): Problem {
  if (error instanceof Problem) return error;
  if (error.validation) {
    const errors = error.validation.map((v) => ({
      path: `${error.validationContext ?? 'body'}${v.instancePath || ''}${
        v.params && 'missingProperty' in v.params ? `/${String(v.params.missingProperty)}` : ''
      }${v.params && 'additionalProperty' in v.params ? `/${String(v.params.additionalProperty)}` : ''}`,
      message: v.message ?? 'invalid',
    }));
    return new Problem(
      400,
      'Bad Request',
      `invalid ${error.validationContext ?? 'request'}: ${errors[0]?.path} ${errors[0]?.message}`,
      errors,
    );
  }
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new Problem(413, 'Content Too Large', error.message);
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    return new Problem(
      error.statusCode,
      error.statusCode === 415 ? 'Unsupported Media Type' : 'Bad Request',
      error.message,
    );
  }
  const pgCode = (error as { code?: string }).code;
  if (pgCode === '23505') return new Problem(409, 'Conflict', 'a resource with the same unique value already exists');
  const input = databaseInputProblem(error);
  if (input) return input;
  return new Problem(500, 'Internal Server Error', 'unexpected error; it has been logged');
}
