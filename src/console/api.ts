/** The console's only way out: the public HTTP contract, same origin, with the tab's token. */

const TOKEN_KEY = 'handover.token';

/** Kept for this tab only (sessionStorage): closing the tab signs out. */
export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (value: string) => sessionStorage.setItem(TOKEN_KEY, value),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** An RFC 9457 problem as the API answers it. */
export interface Problem {
  status: number;
  title: string;
  detail?: string;
  errors?: Array<{ path: string; message: string }>;
}

export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail ?? problem.title);
  }
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** Called when the API answers 401: the token is unknown or no longer works. */
let onUnauthorized: () => void = () => undefined;
export const whenUnauthorized = (handler: () => void) => {
  onUnauthorized = handler;
};

export async function request(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  const response = await fetch(path, {
    method,
    headers: {
      authorization: `Bearer ${token.get() ?? ''}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.ok) return response;
  const problem: Problem = await response.json().catch(() => ({ status: response.status, title: response.statusText }));
  if (response.status === 401) onUnauthorized();
  throw new ApiError(problem);
}

export async function api<T>(method: string, path: string, body?: unknown, headers?: Record<string, string>) {
  const response = await request(method, path, body, headers);
  return (response.status === 204 ? undefined : await response.json()) as T;
}

/** A query string of the set values only. */
export function query(params: Record<string, string | undefined | null>): string {
  const set = Object.entries(params).filter(
    (e): e is [string, string] => e[1] !== undefined && e[1] !== null && e[1] !== '',
  );
  return set.length ? `?${new URLSearchParams(set).toString()}` : '';
}

/** Every page of a list (the console's lists are an office's worth, not a book's). */
export async function all<T>(path: string, params: Record<string, string | undefined> = {}): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null | undefined;
  do {
    const page = await api<Page<T>>(
      'GET',
      `${path}${query({ ...params, limit: '1000', cursor: cursor ?? undefined })}`,
    );
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return items;
}

/** An Idempotency-Key; crypto.randomUUID needs a secure context, which a plain-HTTP LAN host is not. */
export function newKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
