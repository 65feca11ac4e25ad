/** RFC 9457 problem details: the only shape an error ever leaves the API in. */
export interface FieldError {
  path: string;
  message: string;
}

/**
 * API.md: `errors` names at most this many fields. Every problem is capped here, whoever built it
 * (schema validation, a bulk of 10,000 rows each wrong), and its detail then says how many there were.
 */
export const MAX_FIELD_ERRORS = 20;

export class Problem extends Error {
  readonly detail: string;
  readonly errors?: FieldError[];

  constructor(
    readonly status: number,
    readonly title: string,
    detail: string,
    errors?: FieldError[],
  ) {
    const capped = errors !== undefined && errors.length > MAX_FIELD_ERRORS;
    const full = capped ? `${detail} (errors lists the first ${MAX_FIELD_ERRORS} of ${errors.length})` : detail;
    super(full);
    this.detail = full;
    this.errors = capped ? errors.slice(0, MAX_FIELD_ERRORS) : errors;
  }

  toJSON() {
    return {
      type: `https://handover.dev/problems/${this.title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`,
      title: this.title,
      status: this.status,
      detail: this.detail,
      ...(this.errors ? { errors: this.errors } : {}),
    };
  }
}

export const badRequest = (detail: string, errors?: FieldError[]) => new Problem(400, 'Bad Request', detail, errors);
export const unauthorized = (detail: string) => new Problem(401, 'Unauthorized', detail);
export const forbidden = (detail: string) => new Problem(403, 'Forbidden', detail);
export const notFound = (detail: string) => new Problem(404, 'Not Found', detail);
export const conflict = (detail: string) => new Problem(409, 'Conflict', detail);
export const unprocessable = (detail: string, errors?: FieldError[]) =>
  new Problem(422, 'Unprocessable Content', detail, errors);

/**
 * A PostgreSQL error caused by the input itself, as a 4xx (undefined for any other error):
 * text with a NUL character (\u0000), which PostgreSQL cannot store in text (22021) or jsonb
 * (22P05), and values of the wrong format for their column (22P02, 22007, 22008).
 */
export function databaseInputProblem(error: unknown): Problem | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === '22021' || code === '22P05') {
    return badRequest('text must not contain the NUL character (\\u0000)');
  }
  if (code === '22P02' || code === '22007' || code === '22008') return badRequest('a value has the wrong format');
  return undefined;
}
