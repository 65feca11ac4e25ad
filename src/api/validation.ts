/**
 * How requests are validated (API.md, Conventions): bodies strictly, never coerced (`null`, `0` or
 * `"false"` where a boolean is expected is 400, not `false`); query strings and path parameters
 * may parse numbers and booleans from their text. Validation stops at the first error, so a
 * hostile body of 50,000 bad items costs one error, not 50,000; and each route's body limit is
 * derived from its schema: what its largest valid input needs, no more.
 */

import { Transform } from 'node:stream';
import { AjvCompiler, type BuildCompilerFromPool } from '@fastify/ajv-compiler';

/**
 * A route's schema, read as the JSON Schema it is: the keywords these bounds look at. (TypeBox 1's
 * `TSchema` names none; the schemas TypeBox builds are plain JSON Schema.)
 */
export interface JsonSchema {
  const?: unknown;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  type?: string | string[];
  maxLength?: number;
  format?: string;
  maxItems?: number;
  items?: JsonSchema;
  additionalProperties?: unknown;
  properties?: Record<string, JsonSchema>;
}

// Ajv has no cap on collected errors: `allErrors` would build one error object per bad item.
const shared = { removeAdditional: false, useDefaults: true, allErrors: false } as const;
const BODY = { ...shared, coerceTypes: false } as const;
const TEXT = { ...shared, coerceTypes: 'array' } as const;

/** What Fastify calls a compiler with (its typings name the schema only). */
type CompileRoute = (route: { schema: unknown; httpPart?: string; method: string; url: string }) => unknown;

/** Fastify's own Ajv compiler, twice: strict for bodies, parsing text for querystrings, params and headers. */
export const buildValidator = ((externalSchemas, options) => {
  const factory = AjvCompiler();
  const plugins = options?.plugins ?? [];
  const strict = factory(externalSchemas, { customOptions: BODY, plugins }) as unknown as CompileRoute;
  const text = factory(externalSchemas, { customOptions: TEXT, plugins }) as unknown as CompileRoute;
  const compile: CompileRoute = (route) => (route.httpPart === 'body' ? strict(route) : text(route));
  return compile;
}) as BuildCompilerFromPool;

/** Bytes a JSON value of this schema can take, with room for indentation; Infinity when unbounded. */
export function maxJsonBytes(schema: JsonSchema): number {
  if ('const' in schema) return JSON.stringify(schema.const).length;
  if (Array.isArray(schema.enum)) return Math.max(...schema.enum.map((v: unknown) => JSON.stringify(v).length));
  if (Array.isArray(schema.anyOf)) return Math.max(...schema.anyOf.map(maxJsonBytes));
  if (Array.isArray(schema.oneOf)) return Math.max(...schema.oneOf.map(maxJsonBytes));
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  return Math.max(...types.map((type) => maxBytesOfType(schema, type)));
}

// Free text may hold any character. maxLength counts code points, and the widest in JSON is a
// control character, which must be escaped as \u0001: 6 bytes (a code point outside the BMP, such
// as 𠮷 in a Japanese name, is 4 bytes in UTF-8). Formats are ASCII.
const TEXT_BYTES_PER_CHAR = 6;
// Per value: a comma, a newline and indentation, as a pretty-printing client sends them.
const SPACING = 16;

function maxBytesOfType(schema: JsonSchema, type: string | undefined): number {
  switch (type) {
    case 'null':
      return 4;
    case 'boolean':
      return 5;
    case 'number':
    case 'integer':
      return 24;
    case 'string': {
      // A date-time's fraction of a second may have any number of digits: only maxLength bounds it.
      if (typeof schema.maxLength !== 'number') return Number.POSITIVE_INFINITY;
      return 2 + schema.maxLength * (schema.format ? 1 : TEXT_BYTES_PER_CHAR);
    }
    case 'array': {
      if (typeof schema.maxItems !== 'number' || !schema.items) return Number.POSITIVE_INFINITY;
      return 2 + schema.maxItems * (maxJsonBytes(schema.items) + SPACING);
    }
    case 'object': {
      if (schema.additionalProperties !== false) return Number.POSITIVE_INFINITY;
      const properties = Object.entries(schema.properties ?? {});
      return properties.reduce((sum, [key, value]) => sum + key.length + 3 + SPACING + maxJsonBytes(value), 2);
    }
    default:
      return Number.POSITIVE_INFINITY;
  }
}

/**
 * How many objects and arrays a valid body of this schema can hold (Infinity when unbounded).
 * JSON.parse of a 16 MiB body of empty objects builds 5 million of them; counting the brackets
 * first refuses that for the price of one pass over the text.
 */
export function maxContainers(schema: JsonSchema): number {
  if ('const' in schema || Array.isArray(schema.enum)) return 0;
  if (Array.isArray(schema.anyOf)) return Math.max(...schema.anyOf.map(maxContainers));
  if (Array.isArray(schema.oneOf)) return Math.max(...schema.oneOf.map(maxContainers));
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  return Math.max(
    ...types.map((type) => {
      if (type === 'array') {
        if (typeof schema.maxItems !== 'number' || !schema.items) return Number.POSITIVE_INFINITY;
        return 1 + schema.maxItems * maxContainers(schema.items);
      }
      if (type === 'object') {
        if (schema.additionalProperties !== false) return Number.POSITIVE_INFINITY;
        const properties = Object.values(schema.properties ?? {});
        return properties.reduce((sum, value) => sum + maxContainers(value), 1);
      }
      return 0;
    }),
  );
}

/**
 * A pass-through of the raw body that counts `{` and `[` outside strings as the bytes arrive, and
 * fails with `tooMany()` once there are more than `limit`: the body is never collected, let alone
 * parsed. (Multi-byte UTF-8 never contains these ASCII bytes, so counting bytes is exact.)
 */
export function containerCounter(limit: number, tooMany: () => Error): Transform {
  let count = 0;
  let inString = false;
  let escaped = false;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      for (const byte of chunk) {
        if (inString) {
          if (escaped) escaped = false;
          else if (byte === 0x5c) escaped = true;
          else if (byte === 0x22) inString = false;
        } else if (byte === 0x22) inString = true;
        else if ((byte === 0x7b || byte === 0x5b) && ++count > limit) {
          callback(tooMany());
          return;
        }
      }
      callback(null, chunk);
    },
  });
}

/** The smallest limit that every valid body fits in (a little rounded up), or undefined when unbounded. */
export function bodyLimitFor(schema: JsonSchema): number | undefined {
  const bytes = maxJsonBytes(schema);
  if (!Number.isFinite(bytes)) return undefined;
  return Math.ceil((bytes + 1024) / 1024) * 1024;
}
