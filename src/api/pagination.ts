import { type TSchema, Type } from 'typebox';
import { badRequest } from './problem';

/** `limit` and `cursor` of every list (API.md: default 100, max 1000). Keyset on `id`, never OFFSET. */
export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
};

export const encodeCursor = (lastId: string) => Buffer.from(lastId, 'utf8').toString('base64url');

export function decodeCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!id || encodeCursor(id) !== cursor)
    throw badRequest('cursor is not one this API gave out', [{ path: 'query/cursor', message: 'invalid cursor' }]);
  return id;
}

/** Fetch `limit + 1` rows ordered by id, then call this: it trims and computes `nextCursor`. */
export function page<T extends { id: string }, U>(rows: T[], limit: number, map: (row: T) => U) {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items: items.map(map), nextCursor: rows.length > limit && last ? encodeCursor(last.id) : null };
}

export const ListOf = <T extends TSchema>(item: T) =>
  Type.Object({ items: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()]) });
