/**
 * Why a handover cannot start or go on. The API answers it as problem+json with `status`;
 * the workflow fails non-retryably with its message.
 */
export class Refusal extends Error {
  constructor(
    readonly status: 403 | 404 | 409 | 422,
    message: string,
    readonly path?: string,
  ) {
    super(message);
    this.name = 'Refusal';
  }
}
