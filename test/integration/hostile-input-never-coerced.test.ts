/**
 * API.md's Conventions, checked from the rule itself, not from the code: "Bodies are validated
 * strictly and never coerced". A table of valid bodies (test/helpers/valid-bodies.ts: each write
 * route, each handover kind and HR event type), every field set to each value of another JSON type
 * → 400 naming that field, nothing changes; the valid body itself succeeds. The table is checked
 * against the OpenAPI document: every write route with a JSON body, every property its schema names.
 */
import type { LightMyRequestResponse } from 'fastify';
import { beforeAll, describe, expect, test } from 'vitest';
import {
  bodySchemaOf,
  describeResponse,
  type JsonType,
  jsonType,
  nodes,
  type Path,
  send,
  setAt,
  snapshot,
  useHostileInput,
  valueAt,
} from '../helpers/hostile-input';
import type { JsonSchema } from '../helpers/largest-body';
import { seedValidBodyTargets, typedRoutes } from '../helpers/valid-bodies';
import { endpoints } from '../helpers/write-endpoints';

useHostileInput('hostile_never_coerced');

/** Values of other JSON types than `value`'s: each must be a 400. Null too, unless the field may be null. */
function wrongValues(value: unknown, nullable: boolean): unknown[] {
  const wrong: Record<JsonType, unknown[]> = {
    string: [300, true, [value], {}],
    number: [String(value), true, [value], {}],
    boolean: [0, 1, String(value), String(!value), [value]],
    object: [[value], [], 'object', 0, true],
    array: [{}, Array.isArray(value) ? value[0] : 'item', 'array', 0, true],
    null: [],
  };
  return [...wrong[jsonType(value)], ...(nullable ? [] : [null])];
}

/** Whether one of the problem's `errors` names `path` (as `body/a/0/b`, `/a/0/b` or `a[0].b`). */
function errorsName(res: LightMyRequestResponse, path: Path): boolean {
  const errors = (res.json() as { errors?: Array<{ path?: unknown }> }).errors ?? [];
  const want = path.join('/');
  return errors.some(
    (e) =>
      typeof e.path === 'string' &&
      e.path
        .replace(/^body\b/, '')
        .split(/[/.[\]]+/)
        .filter(Boolean)
        .join('/') === want,
  );
}

/** Every property name a JSON Schema gives (through unions and array items). */
function propertyNames(schema: JsonSchema | undefined, into = new Set<string>()): Set<string> {
  if (!schema) return into;
  for (const [key, value] of Object.entries(schema.properties ?? {})) {
    into.add(key);
    propertyNames(value, into);
  }
  for (const branch of [...(schema.anyOf ?? []), ...(schema.oneOf ?? [])]) propertyNames(branch, into);
  propertyNames(schema.items, into);
  return into;
}

describe('bodies are never coerced: each typed field set to each value of another JSON type is 400 naming it, and changes nothing', () => {
  beforeAll(seedValidBodyTargets);

  test('the table has every write route with a JSON body (SCIM aside: API.md has it accept what IdPs send), each property its schema names', async () => {
    for (const ep of endpoints.filter((e) => e.family !== 'scim')) {
      const schema = await bodySchemaOf(ep);
      const rows = typedRoutes.filter((r) => r.method === ep.method && r.route === ep.route);
      if (!schema) {
        expect(rows, `${ep.method} ${ep.route} takes no body`).toEqual([]);
        continue;
      }
      const covered = new Set(
        rows.flatMap((r) => nodes(r.body!()).leaves.map((path) => String(path[path.length - 1]))),
      );
      const missing = [...propertyNames(schema)].filter((name) => !covered.has(name));
      expect(missing, `${ep.method} ${ep.route}: fields the table never sets`).toEqual([]);
    }
  });

  test.each(typedRoutes.map((r) => [r.name, r] as const))('%s', async (_name, route) => {
    // The valid body succeeds: a 400 below is the wrong type's, not one the body had anyway.
    const valid = await send(route, { payload: JSON.stringify(route.body!()) });
    expect(valid.statusCode, describeResponse(valid)).toBe(route.ok);

    const base = route.body!();
    const fields = nodes(base).leaves;
    const failures: string[] = [];
    let cases = 0;
    let before = await snapshot();
    for (const path of fields) {
      const nullable = (route.nullablePaths ?? []).includes(path.join('.'));
      for (const wrong of wrongValues(valueAt(base, path), nullable)) {
        cases++;
        const body = route.body!();
        setAt(body, path, wrong);
        const res = await send(route, { payload: JSON.stringify(body) });
        const what = `${path.join('.')} = ${JSON.stringify(wrong)}`;
        if (res.statusCode !== 400) failures.push(`${what}: ${describeResponse(res)}`);
        else if (!String(res.headers['content-type']).startsWith('application/problem+json')) {
          failures.push(`${what}: ${res.headers['content-type']}`);
        } else if (!errorsName(res, path)) failures.push(`${what}: errors do not name ${path.join('/')}: ${res.body}`);
        const after = await snapshot();
        if (after !== before) {
          failures.push(`${what}: changed the database`);
          before = after;
        }
      }
    }
    expect(failures).toEqual([]);
    // At least four values of other types for every field, nullable ones too: the table cannot go thin.
    expect(fields.length).toBeGreaterThan(0);
    expect(cases).toBeGreaterThanOrEqual(4 * fields.length);
  });
});
