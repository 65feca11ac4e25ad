/** Shared request/response fragments, reused by routes and the OpenAPI document. */
import { Type } from 'typebox';

export const Id = Type.String({ minLength: 1, maxLength: 100 });
export const IdParams = Type.Object({ id: Id });
/**
 * RFC 3339 allows any number of fractional digits; 35 characters hold nanoseconds and an offset
 * (2030-01-01T09:00:00.123456789+09:00) and bound what a body with timestamps can take.
 */
export const TIMESTAMP_MAX_LENGTH = 35;
export const Timestamp = Type.String({ format: 'date-time', maxLength: TIMESTAMP_MAX_LENGTH });
export const Nullable = <T extends import('typebox').TSchema>(t: T) => Type.Union([t, Type.Null()]);

/**
 * A string or null, for request bodies. Unlike `Nullable(Type.String())` (an anyOf), this stays
 * null under Ajv's `coerceTypes`, which otherwise turns null into "" in the string branch.
 */
export const NullableString = (options: import('typebox').TStringOptions = {}) =>
  Type.Unsafe<string | null>({ ...Type.String(options), type: ['string', 'null'] });
export const NullableId = NullableString({ minLength: 1, maxLength: 100 });
export const NullableTimestamp = NullableString({ format: 'date-time', maxLength: TIMESTAMP_MAX_LENGTH });
