/**
 * Token estimate. grok.com reports no token counts, so usage figures are ESTIMATES:
 * about 4 characters per token for ASCII text and one token per other character
 * (CJK, emoji), rounded up. Documented in the README as estimated usage.
 */
export function estimateTokens(text: string): number {
  if (!text) return 0;
  let ascii = 0;
  let other = 0;
  for (const ch of text) {
    if (ch.charCodeAt(0) < 128) ascii++;
    else other++;
  }
  return Math.ceil(ascii / 4) + other;
}

/** The longest prefix of `text` whose estimate fits in `budget` tokens. */
export function truncateToTokens(text: string, budget: number): string {
  if (budget <= 0) return "";
  if (estimateTokens(text) <= budget) return text;
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (estimateTokens(text.slice(0, mid)) <= budget) lo = mid;
    else hi = mid - 1;
  }
  return text.slice(0, lo);
}
