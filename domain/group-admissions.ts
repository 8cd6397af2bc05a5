import type { AdmissionKind } from '../schemas/types.generated.js';

/** Key of an invite, a join request or a link in `im.state.admissions`: `<groupId>|<kind>|<user or token>`. */
export const admissionKey = (groupId: string, kind: AdmissionKind, subject: string): string => `${groupId}|${kind.toLowerCase()}|${subject}`;

/**
 * The code a user shares and joins with: the group and the link's token, `<groupId>:<token>`.
 * Ids hold no `:`, so the code needs no lookup to find the group its join is keyed by.
 */
export const linkCode = (groupId: string, token: string): string => `${groupId}:${token}`;

/** A shared code back into its group and token; null when it is not one. */
export function parseLinkCode(code: string): { groupId: string; token: string } | null {
  const at = code.indexOf(':');
  if (at <= 0 || at === code.length - 1 || code.indexOf(':', at + 1) !== -1) return null;
  return { groupId: code.slice(0, at), token: code.slice(at + 1) };
}
