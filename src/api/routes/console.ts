import type { FastifyReply } from 'fastify';
import type { ApiDeps, App } from '../app';
import { type ConsoleFile, consoleFiles } from '../console-assets';
import { Problem } from '../problem';

/**
 * Nothing but the console's own files runs or loads: no inline script or style, no other origin,
 * no framing. The console talks to this API (same origin) and nothing else.
 */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

/**
 * `GET /console` and every page under it answer the console's page (it routes in the browser);
 * `/console/assets/<name>` its script and style. No token: the page holds no data, the API does.
 */
export async function consoleRoutes(app: App, _deps: ApiDeps) {
  const send = async (reply: FastifyReply, name: string) => {
    let file: ConsoleFile | undefined;
    try {
      file = (await consoleFiles()).get(name);
    } catch (error) {
      reply.log.error(error);
      throw new Problem(503, 'Service Unavailable', 'the console could not be built; run `npm run build` and retry');
    }
    if (!file) throw new Problem(404, 'Not Found', `the console has no file ${name}`);
    return reply.headers(SECURITY_HEADERS).type(file.type).send(file.body);
  };
  app.get('/console', { schema: { hide: true } }, (_request, reply) => send(reply, 'index.html'));
  app.get<{ Params: { '*': string } }>('/console/*', { schema: { hide: true } }, (request, reply) => {
    const path = request.params['*'];
    return path.startsWith('assets/') ? send(reply, path.slice('assets/'.length)) : send(reply, 'index.html');
  });
}
