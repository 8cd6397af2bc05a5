import { randomUUID } from 'node:crypto';
import { isUserOrGroupId } from '../../protocol/limits.js';
import { isLongField } from '../../protocol/numbers.js';
import { HttpError, type HttpRequest, type HttpResponse } from './routes.js';

/**
 * Shared helpers of the command routes (relations, groups): ids, body fields, the acting user,
 * and the 202 reply carrying the command id the processors report outcomes under.
 */

export interface CommandRouteOptions {
  newId?: () => string;
  now?: () => number;
}

export function actor(req: HttpRequest): string {
  if (!req.userId) throw new HttpError(401, 'UNAUTHORIZED', 'authentication required');
  return req.userId;
}

export function idParam(req: HttpRequest, name: string): string {
  const v = req.params[name];
  if (!isUserOrGroupId(v)) throw new HttpError(400, 'BAD_REQUEST', `${name} is not a valid id`);
  return v;
}

function body(req: HttpRequest): Record<string, unknown> {
  if (req.body === null || req.body === undefined) return {};
  if (typeof req.body !== 'object' || Array.isArray(req.body)) throw new HttpError(400, 'BAD_REQUEST', 'body must be a JSON object');
  return req.body as Record<string, unknown>;
}

export function idField(req: HttpRequest, name: string): string {
  const v = body(req)[name];
  if (!isUserOrGroupId(v)) throw new HttpError(400, 'BAD_REQUEST', `${name} must be a valid id`);
  return v;
}

export function idList(req: HttpRequest, name: string, { min = 1, max = 500 } = {}): string[] {
  const v = body(req)[name] ?? [];
  if (!Array.isArray(v) || v.length < min || v.length > max || !v.every(isUserOrGroupId))
    throw new HttpError(400, 'BAD_REQUEST', `${name} must be a list of ${min} to ${max} valid ids`);
  return [...new Set(v as string[])];
}

export function textField(req: HttpRequest, name: string, { max, optional = false }: { max: number; optional?: boolean }): string | null {
  const v = body(req)[name];
  if ((v === undefined || v === null) && optional) return null;
  if (typeof v !== 'string' || v.length > max || (!optional && v.trim() === '')) throw new HttpError(400, 'BAD_REQUEST', `${name} must be a string of at most ${max} characters`);
  return v;
}

export function numberField(req: HttpRequest, name: string): number {
  const v = body(req)[name];
  // Avro long range: a number the command record cannot encode would fail at produce time.
  if (!isLongField(v)) throw new HttpError(400, 'BAD_REQUEST', `${name} must be epoch milliseconds`);
  return v;
}

export function commandIds(options: CommandRouteOptions): { newId: () => string; now: () => number } {
  return { newId: options.newId ?? randomUUID, now: options.now ?? Date.now };
}

/** The command is in the log; its outcome arrives as a system message under `command_id`. */
export const accepted = (commandId: string, extra: Record<string, string> = {}): HttpResponse => ({ status: 202, body: { command_id: commandId, ...extra } });
