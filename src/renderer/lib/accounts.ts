import type { TokenInfo } from "../../shared/admin-api";

/**
 * Account list logic: cookie paste parsing, search/filter/sort. Pure, tested under Node.
 */

/** One cookie per line: `sso=` and `; attributes` removed, blanks and duplicates dropped. */
export function parseCookies(text: string): string[] {
  const out = new Set<string>();
  for (const raw of text.split(/\r?\n/)) {
    let v = raw.trim();
    if (!v) continue;
    const sso = /(?:^|[;\s])sso=([^;\s]+)/.exec(v);
    if (sso) v = sso[1]!;
    else v = v.split(";")[0]!.trim();
    if (v) out.add(v);
  }
  return [...out];
}

export type SortKey = "state" | "added" | "used" | "quota" | "failures";

export interface AccountFilter {
  text: string;
  state: "" | TokenInfo["state"];
  tier: "" | TokenInfo["tier"];
  tag: string;
}

export const EMPTY_FILTER: AccountFilter = { text: "", state: "", tier: "", tag: "" };

const STATE_RANK: Record<TokenInfo["state"], number> = { active: 0, cooling: 1, dead: 2, disabled: 3 };

export function filterAccounts(list: TokenInfo[], f: AccountFilter, mask: (t: string) => string): TokenInfo[] {
  const text = f.text.trim().toLowerCase();
  return list.filter((a) => {
    if (f.state && a.state !== f.state) return false;
    if (f.tier && a.tier !== f.tier) return false;
    if (f.tag && !a.tags.includes(f.tag)) return false;
    if (!text) return true;
    // The search sees what the page shows: the mask, tags and note — never the hidden cookie.
    return mask(a.token).toLowerCase().includes(text) || a.tags.some((t) => t.toLowerCase().includes(text)) || a.note.toLowerCase().includes(text);
  });
}

const fastLeft = (a: TokenInfo) => a.quota.fast?.remaining ?? -1;

export function sortAccounts(list: TokenInfo[], key: SortKey): TokenInfo[] {
  const cmp: Record<SortKey, (a: TokenInfo, b: TokenInfo) => number> = {
    state: (a, b) => STATE_RANK[a.state] - STATE_RANK[b.state] || (b.created_time ?? 0) - (a.created_time ?? 0),
    added: (a, b) => (b.created_time ?? 0) - (a.created_time ?? 0),
    used: (a, b) => (b.last_used ?? 0) - (a.last_used ?? 0),
    quota: (a, b) => fastLeft(b) - fastLeft(a),
    failures: (a, b) => b.fail_count - a.fail_count,
  };
  return [...list].sort((a, b) => cmp[key](a, b) || a.token.localeCompare(b.token));
}

export function allTags(list: TokenInfo[]): string[] {
  const s = new Set<string>();
  for (const a of list) for (const t of a.tags) s.add(t);
  return [...s].sort();
}

/** "a, b ,a" → ["a", "b"] */
export function parseTags(text: string): string[] {
  return [...new Set(text.split(/[,，]/).map((t) => t.trim()).filter(Boolean))];
}
