/**
 * JSON for tool-call arguments written by a language model: a nesting-depth cap checked
 * iteratively before anything recursive touches the text, and a small repair pass for the
 * mistakes models make (docs/tool-calling.md, "Repairs").
 *
 * Nothing here recurses over the input, so a 20 000-level nested argument is refused in linear
 * time instead of overflowing the stack in JSON.parse's callers (JSON.stringify, schema checks).
 */

import { MAX_JSON_DEPTH, jsonDepthWithin } from "../../core/json.js";

export { MAX_JSON_DEPTH, jsonDepthWithin };

export type JsonParse = { ok: true; value: unknown; repaired: boolean } | { ok: false };

/**
 * Parses model-written JSON: exact JSON first; then the repaired text (see `repairJson`), first
 * without and then with the inner-quote heuristic. A nesting deeper than `max` is refused.
 */
export function parseJsonTolerant(text: string, max = MAX_JSON_DEPTH): JsonParse {
  const t = text.replace(/^\uFEFF/, "").trim();
  if (!t) return { ok: false };
  if (!jsonDepthWithin(t, max)) return { ok: false };
  try {
    return { ok: true, value: JSON.parse(t), repaired: false };
  } catch {
    /* try the repairs */
  }
  for (const innerQuotes of [false, true]) {
    const fixed = repairJson(t, { innerQuotes, maxDepth: max });
    if (fixed === null) continue;
    try {
      return { ok: true, value: JSON.parse(fixed), repaired: true };
    } catch {
      /* next repair */
    }
  }
  return { ok: false };
}

const VALID_ESCAPES = new Set(['"', "\\", "/", "b", "f", "n", "r", "t", "u"]);
const CONTROL_ESCAPES: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f" };

function escapeControl(ch: string): string {
  return CONTROL_ESCAPES[ch] ?? `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

function isHex4(s: string, i: number): boolean {
  return /^[0-9a-fA-F]{4}$/.test(s.slice(i, i + 4));
}

/**
 * One pass over almost-JSON, producing JSON text, or null when it cannot be repaired safely:
 *
 * - raw line breaks, tabs and other control characters inside strings are escaped;
 * - a backslash before a character that has no JSON escape (`\d`, `\s`, `\.`) is kept literally;
 * - trailing commas before `}` / `]` and doubled commas are removed;
 * - a single-quoted string where a key or value starts becomes a double-quoted one;
 * - missing closing braces/brackets at the end are added, a stray extra closer is dropped;
 * - with `innerQuotes`, a `"` inside a string that is not followed by `,` `}` `]` `:` or the end
 *   is taken as a literal quote (`"print("hi")"`).
 *
 * An unterminated string is NOT repaired (null): that is a cut-off answer, and completing it
 * would hand a truncated file or command to the client as if it were whole.
 */
export function repairJson(s: string, opts: { innerQuotes?: boolean; maxDepth?: number } = {}): string | null {
  const maxDepth = opts.maxDepth ?? MAX_JSON_DEPTH;
  const out: string[] = [];
  const stack: string[] = [];
  let done = false; // the top-level value closed
  /** Last significant (non-whitespace) character written. */
  let last = "";
  const write = (t: string) => {
    out.push(t);
    const tt = t.trimEnd();
    if (tt) last = tt[tt.length - 1]!;
  };
  const dropTrailingComma = () => {
    for (let k = out.length - 1; k >= 0; k--) {
      const piece = out[k]!;
      if (!piece.trim()) continue;
      if (piece.trimEnd().endsWith(",")) {
        const idx = piece.lastIndexOf(",");
        out[k] = piece.slice(0, idx) + piece.slice(idx + 1);
        const before = out.join("").trimEnd();
        last = before ? before[before.length - 1]! : "";
      }
      return;
    }
  };
  const n = s.length;
  let i = 0;
  while (i < n) {
    const ch = s[i]!;
    if (done) {
      // After the top-level value: only whitespace and stray closers may follow.
      if (/\s/.test(ch) || ch === "}" || ch === "]") {
        i++;
        continue;
      }
      return null;
    }
    if (ch === '"' || (ch === "'" && (last === "" || last === "{" || last === "[" || last === "," || last === ":"))) {
      const quote = ch;
      const parts: string[] = ['"'];
      let j = i + 1;
      let closed = false;
      while (j < n) {
        const c = s[j]!;
        if (c === "\\") {
          const e = s[j + 1];
          if (e === undefined) break;
          if (quote === "'" && e === "'") parts.push("'");
          else if (e === "u" && !isHex4(s, j + 2)) parts.push("\\\\u");
          else if (VALID_ESCAPES.has(e)) parts.push("\\" + e);
          else if (e === "\n" || e === "\r") parts.push("\\\\" + escapeControl(e));
          else parts.push("\\\\" + (e < " " ? escapeControl(e) : e));
          j += 2;
          continue;
        }
        if (c === quote) {
          if (quote === '"' && opts.innerQuotes) {
            let k = j + 1;
            while (k < n && /\s/.test(s[k]!)) k++;
            const next = s[k];
            if (next !== undefined && next !== "," && next !== "}" && next !== "]" && next !== ":") {
              parts.push('\\"');
              j++;
              continue;
            }
          }
          closed = true;
          j++;
          break;
        }
        if (c === '"') parts.push('\\"');
        else if (c < " ") parts.push(escapeControl(c));
        else parts.push(c);
        j++;
      }
      if (!closed) return null;
      parts.push('"');
      write(parts.join(""));
      i = j;
      if (!stack.length) done = true;
      continue;
    }
    if (ch === "{" || ch === "[") {
      if (stack.length >= maxDepth) return null;
      stack.push(ch === "{" ? "}" : "]");
      write(ch);
      i++;
      continue;
    }
    if (ch === "}" || ch === "]") {
      const at = stack.lastIndexOf(ch);
      if (at < 0) {
        i++; // stray closer
        continue;
      }
      dropTrailingComma();
      while (stack.length > at + 1) write(stack.pop()!);
      stack.pop();
      write(ch);
      i++;
      if (!stack.length) done = true;
      continue;
    }
    if (ch === ",") {
      if (last === "," || last === "{" || last === "[") {
        i++;
        continue;
      }
      write(ch);
      i++;
      continue;
    }
    // Numbers, literals, colons, whitespace: copied as they are (JSON.parse judges them).
    let j = i + 1;
    while (j < n && !`"'{}[],`.includes(s[j]!)) j++;
    const chunk = s.slice(i, j);
    write(chunk);
    i = j;
    if (!stack.length && chunk.trim()) done = true;
  }
  if (last === ":") return null;
  if (stack.length) {
    dropTrailingComma();
    while (stack.length) write(stack.pop()!);
  }
  return out.join("");
}

/** Iterative depth of a parsed value (objects and arrays). */
export function valueDepthWithin(value: unknown, max = MAX_JSON_DEPTH): boolean {
  const todo: Array<[unknown, number]> = [[value, 0]];
  while (todo.length) {
    const [v, d] = todo.pop()!;
    if (!v || typeof v !== "object") continue;
    if (d + 1 > max) return false;
    for (const child of Array.isArray(v) ? v : Object.values(v as Record<string, unknown>)) {
      if (child && typeof child === "object") todo.push([child, d + 1]);
    }
  }
  return true;
}
