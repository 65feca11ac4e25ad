/**
 * The SCIM side of a User: its schemas and errors, and reading a User body or PATCH operation
 * (in the forms Okta and Entra ID send) into the changes it asks of an agent.
 */
import type { FastifyError } from 'fastify';
import type { SqlBool } from 'kysely';
import type { Agent, Locale } from '../../db/schema';
import { databaseInputProblem, Problem } from '../problem';

export const SCIM_MEDIA_TYPE = 'application/scim+json';
export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';
export const LIST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const MAX_RESULTS = 1000;

/** A SCIM error: `{schemas, status: "404", scimType?, detail}` with the same HTTP status. */
export class ScimError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly scimType?: string,
  ) {
    super(detail);
  }
}

/** A SCIM error body (RFC 7644 §3.12). */
export function scimErrorBody(status: number, detail: string, scimType?: string) {
  return { schemas: [ERROR_SCHEMA], status: String(status), ...(scimType ? { scimType } : {}), detail };
}

/** What a User body or PATCH can change, in our terms. */
export interface Changes {
  userName?: string;
  externalId?: string | null;
  displayName?: string;
  formatted?: string;
  givenName?: string;
  familyName?: string;
  department?: string;
  locale?: string;
  active?: boolean;
}

export type AgentWithOffice = Agent & { office_external_id: string | null; deprovisioning: SqlBool };

/**
 * The n-th deprovisioning of an agent (from 1): a repeat while one runs or after it completed
 * answers that one; after one ended `cancelled`, `compensated` or `failed`, the next number starts anew.
 */
export const deprovisionKey = (agentId: string, attempt: number) => `scim:${agentId}:deprovision:${attempt}`;

export function toScimError(error: FastifyError | Problem | ScimError): ScimError {
  if (error instanceof ScimError) return error;
  // Refusals of the handover it starts (409 agent busy, 422 nobody to take over): same status, SCIM body.
  if (error instanceof Problem) return new ScimError(error.status, error.detail);
  if (error.validation) {
    const v = error.validation[0];
    return new ScimError(
      400,
      `invalid ${error.validationContext ?? 'request'}: ${v?.instancePath || ''} ${v?.message ?? ''}`.trim(),
      'invalidSyntax',
    );
  }
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    return new ScimError(error.statusCode, error.message, error.statusCode === 400 ? 'invalidSyntax' : undefined);
  }
  const pgCode = (error as { code?: string }).code;
  if (pgCode === '23505') return new ScimError(409, 'a User with the same unique value already exists', 'uniqueness');
  const input = databaseInputProblem(error);
  if (input) return new ScimError(input.status, input.detail, 'invalidValue');
  return new ScimError(500, 'unexpected error; it has been logged');
}

export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
export const obj = (v: unknown): Record<string, unknown> =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

/** `true`/`false`, or the strings Entra ID sends ("True", "False"). */
export function bool(v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' && /^(true|false)$/i.test(v.trim())) return v.trim().toLowerCase() === 'true';
  throw new ScimError(400, `active must be true or false, not ${JSON.stringify(v)}`, 'invalidValue');
}

/** The attributes of a whole User resource (POST, PUT, or a PATCH without path). */
export function fromResource(body: unknown): Changes {
  const b = obj(body);
  const changes: Changes = {};
  for (const [key, value] of Object.entries(b)) Object.assign(changes, fromAttribute(key, value));
  return changes;
}

/** One attribute, by its (case-insensitive) SCIM name or path; unsupported ones are ignored, as IdPs send many. */
export function fromAttribute(path: string, value: unknown): Changes {
  const p = path.toLowerCase();
  const enterprise = ENTERPRISE.toLowerCase();
  if (p === enterprise)
    return fromResource(Object.fromEntries(Object.entries(obj(value)).map(([k, v]) => [`${ENTERPRISE}:${k}`, v])));
  switch (p) {
    case 'username':
      return str(value) ? { userName: str(value)!.trim() } : {};
    case 'externalid':
      return value === null ? { externalId: null } : str(value) ? { externalId: str(value)! } : {};
    case 'displayname':
      return str(value) ? { displayName: str(value)! } : {};
    case 'name': {
      const n = obj(value);
      const out: Changes = {};
      for (const [k, v] of Object.entries(n)) Object.assign(out, fromAttribute(`name.${k}`, v));
      return out;
    }
    case 'name.formatted':
      return str(value) ? { formatted: str(value)! } : {};
    case 'name.givenname':
      return str(value) !== undefined ? { givenName: str(value)! } : {};
    case 'name.familyname':
      return str(value) !== undefined ? { familyName: str(value)! } : {};
    case 'locale':
    case 'preferredlanguage':
      return str(value) ? { locale: str(value)! } : {};
    case 'active':
      return { active: bool(value) };
    case `${enterprise}:department`:
      return str(value) ? { department: str(value)! } : {};
    default:
      return {};
  }
}

/** One PATCH operation: add/replace (any case) with or without path; remove of externalId. */
export function fromOperation(op: { op: string; path?: string; value?: unknown }): Changes {
  const kind = op.op.toLowerCase();
  if (kind === 'remove') {
    // Removing anything else (or `active`) changes nothing we keep.
    return op.path?.toLowerCase() === 'externalid' ? { externalId: null } : {};
  }
  if (kind !== 'add' && kind !== 'replace') {
    throw new ScimError(400, `unknown PATCH op ${op.op}: use add, replace or remove`, 'invalidSyntax');
  }
  if (op.path === undefined || op.path === '') return fromResource(op.value);
  return fromAttribute(op.path.trim(), op.value);
}

/**
 * The same limits as the agents API (POST /v1/agents). Without them a long userName or externalId
 * reaches PostgreSQL's b-tree indexes on those columns, whose entries hold at most 2,704 bytes (a 500).
 */
const MAX_LENGTH: Partial<Record<keyof Changes, number>> = {
  userName: 320,
  externalId: 200,
  displayName: 200,
  formatted: 200,
  givenName: 200,
  familyName: 200,
  department: 200,
  locale: 50,
};

export function checkLengths(changes: Changes): void {
  for (const [key, max] of Object.entries(MAX_LENGTH) as Array<[keyof Changes, number]>) {
    const value = changes[key];
    if (typeof value === 'string' && value.length > max) {
      throw new ScimError(400, `${key} is longer than ${max} characters`, 'invalidValue');
    }
  }
}

export function nameOf(c: Changes): string | undefined {
  if (c.displayName?.trim()) return c.displayName.trim();
  if (c.formatted?.trim()) return c.formatted.trim();
  const parts = [c.givenName, c.familyName].map((s) => s?.trim()).filter((s): s is string => !!s);
  return parts.length ? parts.join(' ') : undefined;
}

export function localeOf(locale: string | undefined): Locale | undefined {
  if (!locale) return undefined;
  return locale.toLowerCase().startsWith('ja') ? 'ja' : 'en';
}

/** The quoted value of a filter (a JSON string's escapes); a bad escape or a control character is invalidFilter. */
export function filterValue(quoted: string): string {
  try {
    return JSON.parse(`"${quoted}"`) as string;
  } catch {
    throw new ScimError(
      400,
      'the filter value is not a valid quoted string (bad escape or control character)',
      'invalidFilter',
    );
  }
}
