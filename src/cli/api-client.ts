/** A small client of the HTTP API for the CLI: the base URL and token come from the environment. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: { title?: string; detail?: string; errors?: Array<{ path: string; message: string }> },
  ) {
    super(`${status} ${problem.title ?? ''}: ${problem.detail ?? ''}`);
  }
}

export interface Handover {
  id: string;
  kind: string;
  agentId: string | null;
  status: string;
  phase: string;
  blockedBy: Array<{ leadSourceKey: string; name: string }>;
  progress: { planned: number; moved: number; reverted: number };
  summary: { customers: number; records: number; callbacks: number; bySuccessor: Record<string, number> } | null;
  error: string | null;
  links: { self: string; temporalUi?: string };
}

export function apiClient(env: NodeJS.ProcessEnv = process.env) {
  const base = (env.HANDOVER_URL ?? 'http://127.0.0.1:3000').replace(/\/$/, '');
  const token = env.HANDOVER_TOKEN ?? env.ADMIN_TOKEN;
  return async function call<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    if (!token) throw new ApiError(401, { title: 'Unauthorized', detail: 'set HANDOVER_TOKEN (or ADMIN_TOKEN)' });
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await res.json().catch(() => ({}))) as T;
    if (res.status >= 400) throw new ApiError(res.status, json as ApiError['problem']);
    return json;
  };
}
