/**
 * What an id and a text may be, wherever a client sends one: WebSocket frames and HTTP bodies
 * alike. The gateway and the HTTP routes refuse what breaks them at once; the processors hold
 * commands to the same numbers, as any producer may write a command.
 */

/** Characters in any id a client names or makes (user, group, msg_id). */
export const MAX_ID_CHARS = 128;

const USER_OR_GROUP_ID = new RegExp(`^[^\\s|:]{1,${MAX_ID_CHARS}}$`);
const CLIENT_MSG_ID = new RegExp(`^[^\\s|]{1,${MAX_ID_CHARS}}$`);

/**
 * A user or group id. It becomes part of table keys (`<a>|<b>`) and conversation ids
 * (`d:<a>:<b>`, `g:<group>`), so it holds neither separator, nor whitespace.
 */
export const isUserOrGroupId = (v: unknown): v is string => typeof v === 'string' && USER_OR_GROUP_ID.test(v);

/** A client's msg_id: part of the stamper's dedup key (`<sender>|<msgId>`), so no `|`, and no whitespace. */
export const isClientMsgId = (v: unknown): v is string => typeof v === 'string' && CLIENT_MSG_ID.test(v);

/** A group's name, in characters (after trimming: a name is not blank). */
export const MAX_GROUP_NAME_CHARS = 64;
/** A group's announcement, in characters. */
export const MAX_GROUP_ANNOUNCEMENT_CHARS = 2000;
/** Joins one invite link may allow at most (`max_uses`). */
export const MAX_INVITE_LINK_USES = 100_000;
/** Characters of a report's reason at most. */
export const MAX_REPORT_REASON_CHARS = 500;
