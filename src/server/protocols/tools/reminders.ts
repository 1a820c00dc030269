/**
 * Claude Code wraps context notes in `<system-reminder>…</system-reminder>` inside user turns
 * and tool results, and repeats the same ones turn after turn. In the flattened prompt they are
 * kept short (docs/tool-calling.md, "History"):
 *
 * - a reminder identical to a later one is dropped (the model sees its last occurrence only);
 * - a reminder longer than REMINDER_LIMIT characters keeps its first non-empty line (at most 200
 *   characters) and what follows up to the limit, then says how much was left out.
 */

export const REMINDER_LIMIT = 600;
const FIRST_LINE_LIMIT = 200;
const REMINDER = /<system-reminder>([\s\S]*?)<\/system-reminder>/g;

export function shortenReminder(inner: string, limit = REMINDER_LIMIT): string {
  const t = inner.trim();
  if (t.length <= limit) return t;
  const lines = t.split("\n");
  const first = lines.findIndex((l) => l.trim());
  let head = lines[first]!.trim();
  if (head.length > FIRST_LINE_LIMIT) head = head.slice(0, FIRST_LINE_LIMIT) + "…";
  const rest = lines.slice(first + 1).join("\n").trim();
  const room = Math.max(0, limit - head.length - 1);
  const kept = rest.slice(0, room).trimEnd();
  const omitted = t.length - head.length - kept.length;
  return `${head}${kept ? "\n" + kept : ""}\n… [${omitted} more characters of this reminder left out]`;
}

/**
 * `texts` with their reminders compacted; `null` entries (messages not to touch) are passed
 * through. Order matters: "later" is a higher index, or later in the same text.
 */
export function compactReminders(texts: Array<string | null>): Array<string | null> {
  const last = new Map<string, [number, number]>();
  texts.forEach((t, i) => {
    if (t === null) return;
    let k = 0;
    for (const m of t.matchAll(REMINDER)) last.set(m[1]!.trim(), [i, k++]);
  });
  if (!last.size) return texts;
  return texts.map((t, i) => {
    if (t === null || !t.includes("<system-reminder>")) return t;
    let k = 0;
    const out = t.replace(REMINDER, (all: string, inner: string) => {
      const at = last.get(inner.trim())!;
      const keep = at[0] === i && at[1] === k;
      k++;
      if (!keep) return "";
      return inner.trim().length <= REMINDER_LIMIT ? all : `<system-reminder>\n${shortenReminder(inner)}\n</system-reminder>`;
    });
    return out.replace(/\n{3,}/g, "\n\n").trim();
  });
}
