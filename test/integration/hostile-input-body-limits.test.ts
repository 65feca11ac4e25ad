/**
 * API.md's Conventions, checked from the rule itself, not from the code: "Each route accepts bodies
 * up to what its largest valid input needs, no more (413 past that)". The largest valid body of
 * each write route (the table in test/helpers/write-endpoints.ts) is built from the schema the
 * OpenAPI document publishes (test/helpers/largest-body.ts), with the bounds API.md fixes checked
 * against it; that body is read, and one 10% and 4 KiB past it is 413 and changes nothing. Routes
 * with open bodies (SCIM, HR events) take no more than the largest bounded one. Last, the largest
 * valid bulk create and import, naming a real office and owner, are served.
 */
import { describe, expect, test } from 'vitest';
import { createAgent, expectStatus } from '../helpers/directory';
import { bodySchemaOf, encodeSegment, expectSafe, hostile, MISSING, useHostileInput } from '../helpers/hostile-input';
import { bytes, LargestBodies, Unbounded } from '../helpers/largest-body';
import { type Endpoint, endpoints } from '../helpers/write-endpoints';

useHostileInput('hostile_body_limits');

/**
 * Routes whose bodies are open objects, so that no valid body is the largest: SCIM resources carry
 * what each identity provider adds, HR events what each HR system adds. They take no more than the
 * largest valid body of any other route.
 */
const OPEN_BODIES = [
  'POST /v1/hr/events',
  'POST /scim/v2/Users',
  'PUT /scim/v2/Users/{id}',
  'PATCH /scim/v2/Users/{id}',
];

/** More than a route may take: 10% past its largest valid body, and 4 KiB for the small ones. */
const pastLargest = (needs: number) => Math.ceil(needs * 1.1) + 4096;

/** One builder for the file: each value it writes differs from every one before (externalIds stay unique). */
const largest = new LargestBodies();

type Shape = { kind: 'none' } | { kind: 'open'; why: string } | { kind: 'bounded'; body: unknown };

async function largestBodyOf(ep: Endpoint): Promise<Shape> {
  const schema = await bodySchemaOf(ep);
  if (!schema) return { kind: 'none' };
  try {
    return { kind: 'bounded', body: largest.largestValid(schema) };
  } catch (error) {
    if (error instanceof Unbounded) return { kind: 'open', why: error.message };
    throw error;
  }
}

/** Compact bytes of the largest valid body of each route with a bounded one, as its test measured them. */
const largestBytes = new Map<string, number>();

async function largestBoundedBytes(): Promise<number> {
  let max = 0;
  for (const other of endpoints) {
    const key = `${other.method} ${other.route}`;
    let size = largestBytes.get(key);
    if (size === undefined) {
      const shape = await largestBodyOf(other);
      size = shape.kind === 'bounded' ? bytes(JSON.stringify(shape.body)) : 0;
      largestBytes.set(key, size);
    }
    max = Math.max(max, size);
  }
  return max;
}

/**
 * The endpoint's path with unknown IDs (kinds and keys stay valid): a body that is read gets
 * through validation and is then refused for what it names, changing nothing.
 */
function unknownTargets(ep: Endpoint): string[] {
  const names = [...ep.route.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
  return ep
    .params()
    .map((value, i) => (names[i] === 'id' || names[i] === 'recordId' ? MISSING : value))
    .map(encodeSegment);
}

/** `json` with spaces before its last character up to `size` bytes: the same JSON value, only larger. */
function padded(json: string, size: number): string {
  return `${json.slice(0, -1)}${' '.repeat(Math.max(0, size - bytes(json)))}${json.slice(-1)}`;
}

// ---------------------------------------------------------------------------------------------

describe.each(endpoints.map((ep) => [`${ep.method} ${ep.route}`, ep] as const))('%s', (_name, ep) => {
  test('its largest valid body is read (neither 400 nor 413); one 10% and 4 KiB past it is 413 and changes nothing', async () => {
    const key = `${ep.method} ${ep.route}`;
    const shape = await largestBodyOf(ep);
    const segments = unknownTargets(ep);
    let json = '{}';
    if (shape.kind === 'open') {
      expect(OPEN_BODIES, `${key} has an open body schema (${shape.why})`).toContain(key);
      largestBytes.set(key, 0);
    } else {
      expect(OPEN_BODIES, `${key} has a bounded body schema now`).not.toContain(key);
      if (shape.kind === 'none') {
        // No body at all: that is its largest valid input.
        largestBytes.set(key, 0);
        expect(await expectSafe(ep, { segments })).not.toBe(413);
      } else {
        json = JSON.stringify(shape.body);
        largestBytes.set(key, bytes(json));
        // As JSON.stringify(v, null, 2) writes it: larger than the compact form, so that one fits too.
        const pretty = JSON.stringify(shape.body, null, 2);
        const status = await expectSafe(ep, { segments, payload: pretty });
        expect(status, `${bytes(pretty)} bytes`).not.toBe(413);
        expect(status, `${bytes(pretty)} bytes`).not.toBe(400);
      }
    }
    const needs = shape.kind === 'open' ? await largestBoundedBytes() : largestBytes.get(key)!;
    const past = padded(json, pastLargest(needs));
    expect(await expectSafe(ep, { segments, payload: past }), `${bytes(past)} bytes`).toBe(413);
  });
});

// Last in the file: it adds 20,000 customers, which every later checksum would have to read.
test('the largest valid bulk create and import, naming a real office and owner, are served: 10,000 customers each, every field at its longest', async () => {
  const bulkEp = endpoints.find((e) => e.route === '/v1/customers/bulk')!;
  const importEp = endpoints.find((e) => e.route === '/v1/imports/customers')!;
  const { api, database, d } = hostile;
  type Row = Record<string, unknown>;
  const bulk = largest.largestValid((await bodySchemaOf(bulkEp))!) as { customers: Row[] };
  const imported = largest.largestValid((await bodySchemaOf(importEp))!) as { ownerId: string; customers: Row[] };
  // API.md: "at most 10000" customers in either.
  expect(bulk.customers).toHaveLength(10_000);
  expect(imported.customers).toHaveLength(10_000);

  const owner = await createAgent(api, d.officeB, 'agent');
  const importer = await createAgent(api, d.officeB, 'agent');
  for (const row of bulk.customers) Object.assign(row, { officeId: d.officeB, ownerId: owner });
  imported.ownerId = importer;
  const created = expectStatus(await api.call('POST', '/v1/customers/bulk', bulk), 201) as { ids: string[] };
  expect(created.ids).toHaveLength(10_000);
  // Every externalId is new, so each row creates a customer (update-with-delete: the importer had none to trash).
  expect(expectStatus(await api.call('POST', '/v1/imports/customers', imported), 200)).toEqual({
    created: 10_000,
    updated: 0,
    transferred: 0,
    restored: 0,
    trashed: 0,
    unchanged: 0,
  });
  const counts = await database.db
    .selectFrom('customers')
    .select(({ fn }) => ['owner_id', fn.countAll<string>().as('n')])
    .where('owner_id', 'in', [owner, importer])
    .groupBy('owner_id')
    .execute();
  expect(Object.fromEntries(counts.map((c) => [c.owner_id, Number(c.n)]))).toEqual({
    [owner]: 10_000,
    [importer]: 10_000,
  });
});
