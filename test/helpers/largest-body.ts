/**
 * The largest valid body of a route, built from the JSON Schema its OpenAPI document publishes
 * (API.md, Conventions: "each route accepts bodies up to what its largest valid input needs").
 *
 * "Largest" is in bytes on the wire: every property present, every array at `maxItems`, every
 * union at its largest branch, every string at `maxLength` of the character that takes the most
 * bytes in JSON. That is a control character, which JSON must escape as `\u0001` (6 bytes for one
 * character as `maxLength` counts them; a code point outside the BMP is 4 bytes in UTF-8 and NUL is
 * refused). Formats are ASCII: an e-mail at its `maxLength`, a date-time with as many fractional
 * digits as its `maxLength` leaves room for.
 *
 * A schema with no bound (a string without `maxLength`, an array without `maxItems`, an object
 * open to other properties) has no largest body: `largestValid` throws `Unbounded` for it.
 */

/** A JSON Schema as @fastify/swagger writes it into the OpenAPI document (the subset our routes use). */
export interface JsonSchema {
  type?: string | string[];
  nullable?: boolean;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  format?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
}

export class Unbounded extends Error {}

/** The control characters JSON.stringify writes as `\u00XX` (not \b \t \n \f \r, which take 2 bytes; not NUL). */
const WIDE = [...Array(32).keys()]
  .filter((c) => c !== 0 && ![8, 9, 10, 12, 13].includes(c))
  .map((c) => String.fromCharCode(c));

/** Bytes of a string in UTF-8. */
export const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

/**
 * Builds values that are each different from the last: array items must not repeat (a bulk
 * create refuses a repeated externalId), and the timestamps it writes only increase, so a
 * `startsAt` comes before its `endsAt`.
 */
export class LargestBodies {
  private counter = 0;

  /** The largest valid value of `schema`; `at` names the place for the error message. */
  largestValid(schema: JsonSchema, at = 'body'): unknown {
    if (schema.const !== undefined) return schema.const;
    if (schema.enum) return widest(schema.enum.map((v) => () => v));
    const branches = schema.anyOf ?? schema.oneOf;
    if (branches) return widest(branches.map((branch) => () => this.largestValid(branch, at)));
    const types = (Array.isArray(schema.type) ? schema.type : [schema.type ?? 'any']).filter((t) => t !== 'null');
    // Null is never the largest: "null" is 4 bytes, any other value of these schemas at least as many.
    if (types.length !== 1) throw new Unbounded(`${at}: no single type (${JSON.stringify(schema.type)})`);
    switch (types[0]) {
      case 'boolean':
        return false;
      case 'integer':
      case 'number':
        return this.number(schema, at);
      case 'string':
        return this.string(schema, at);
      case 'array':
        return this.array(schema, at);
      case 'object':
        return this.object(schema, at);
      default:
        throw new Unbounded(`${at}: type ${types[0]} has no largest value`);
    }
  }

  private number(schema: JsonSchema, at: string): number {
    if (schema.minimum === undefined || schema.maximum === undefined) throw new Unbounded(`${at}: an unbounded number`);
    const [min, max] = [schema.minimum, schema.maximum];
    return String(min).length > String(max).length ? min : max;
  }

  private string(schema: JsonSchema, at: string): string {
    const max = schema.maxLength;
    if (max === undefined) throw new Unbounded(`${at}: a string without maxLength`);
    if (schema.pattern !== undefined)
      throw new Error(`${at}: a pattern (${schema.pattern}); teach largest-body.ts its widest match`);
    const n = ++this.counter;
    switch (schema.format) {
      case undefined: {
        // The counter in base 27, written in control characters too: every character takes 6 bytes.
        let tag = '';
        for (let rest = n; rest > 0; rest = Math.floor(rest / WIDE.length)) tag += WIDE[rest % WIDE.length];
        if (tag.length > max) throw new Error(`${at}: maxLength ${max} leaves no room to tell values apart`);
        return WIDE[0]!.repeat(max - tag.length) + tag;
      }
      case 'email': {
        const domain = '@example.test';
        const local = String(n);
        return 'a'.repeat(max - domain.length - local.length) + local + domain;
      }
      case 'date-time': {
        // RFC 3339 with a fraction of the counter's digits, padded to maxLength: later values are later times.
        const head = '2030-01-01T00:00:00.';
        const zone = '+00:00';
        const digits = max - head.length - zone.length;
        if (digits < String(n).length) throw new Error(`${at}: a date-time of ${max} characters holds no fraction`);
        return head + String(n).padStart(digits, '0') + zone;
      }
      default:
        throw new Error(`${at}: format ${schema.format}; teach largest-body.ts its widest value`);
    }
  }

  private array(schema: JsonSchema, at: string): unknown[] {
    if (schema.maxItems === undefined || !schema.items) throw new Unbounded(`${at}: an array without maxItems`);
    return Array.from({ length: schema.maxItems }, (_, i) => this.largestValid(schema.items!, `${at}/${i}`));
  }

  private object(schema: JsonSchema, at: string): Record<string, unknown> {
    if (schema.additionalProperties !== false) throw new Unbounded(`${at}: an object open to other properties`);
    const value: Record<string, unknown> = {};
    for (const [key, property] of Object.entries(schema.properties ?? {})) {
      value[key] = this.largestValid(property, `${at}/${key}`);
    }
    return value;
  }
}

/** The candidate whose JSON takes the most bytes (each built once). */
function widest(candidates: Array<() => unknown>): unknown {
  let best: unknown;
  let bestBytes = -1;
  for (const build of candidates) {
    const value = build();
    const size = bytes(JSON.stringify(value));
    if (size > bestBytes) [best, bestBytes] = [value, size];
  }
  return best;
}
