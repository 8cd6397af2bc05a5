/**
 * Content processing of message logic: @mention extraction and the sensitive-word filter.
 * Both are pure so the processor stays a thin join-then-decide step.
 */

/** `@<userId>` tokens: clients render names, the pipeline deals in ids (it has no user directory). */
const MENTION = /(?:^|[^\p{L}\p{N}_@.-])@([\p{L}\p{N}_-](?:[\p{L}\p{N}_.-]{0,126}[\p{L}\p{N}_-])?)/gu;
export const MENTION_ALL = 'all';
const MAX_MENTIONS = 50;

/** Distinct mentioned ids in order of first appearance, kept only when `allowed` says so. */
export function extractMentions(content: string, allowed: (id: string) => boolean): string[] {
  const out: string[] = [];
  for (const m of content.matchAll(MENTION)) {
    const id = m[1]!;
    if (!out.includes(id) && allowed(id)) out.push(id);
    if (out.length >= MAX_MENTIONS) break;
  }
  return out;
}

export interface SensitiveFilter {
  /** True when the content contains a listed word. */
  matches(content: string): boolean;
  /** Each listed word replaced with `***`. */
  mask(content: string): string;
}

/**
 * One case-insensitive alternation, longest words first so "badword" wins over "bad". Words
 * match anywhere (also inside longer words): evasion by gluing words together is the common case.
 */
export function sensitiveFilter(words: readonly string[]): SensitiveFilter {
  const list = [...new Set(words.map((w) => w.trim()).filter(Boolean))].sort((a, b) => b.length - a.length);
  if (list.length === 0) return { matches: () => false, mask: (c) => c };
  const re = new RegExp(list.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'giu');
  return {
    matches: (c) => {
      re.lastIndex = 0;
      return re.test(c);
    },
    mask: (c) => c.replace(re, '***'),
  };
}
