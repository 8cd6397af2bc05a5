import { PlatformError } from '../../core/errors.js';
import type { ErrorCode } from '../../protocol/codes.js';

/** A refusal the client must see: a documented code, its HTTP status, and for 429 when to retry. */
export class AuthError extends PlatformError {
  override readonly code: ErrorCode;
  readonly status: number;
  readonly retryAfterSec: number | undefined;

  constructor(code: ErrorCode, status: number, message: string, options: { retryAfterSec?: number } = {}) {
    super(code, message);
    this.name = 'AuthError';
    this.code = code;
    this.status = status;
    this.retryAfterSec = options.retryAfterSec;
  }
}
