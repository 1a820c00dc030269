/**
 * Opener matching for the envelope scanner (scan.ts): decides whether a candidate starting with
 * `<`, a backtick or `{` opens a tool-call envelope, cannot yet be decided, or is prose.
 */

/** Longest candidate opener (fence line, whitespace, tag name) before it is decided "not an envelope". */
export const OPENER_MAX = 64;

export const XML_ROOTS = ["tool_calls", "tool_call", "function_calls", "function_call", "invoke"];
const FENCE_LANGS = new Set(["", "json", "jsonc", "json5", "xml", "tool_call", "tool_calls"]);
export const NAME_CHAR = /[A-Za-z0-9_.:-]/;

type Match = "no" | "partial" | "yes";
export type Opener = { r: "no" } | { r: "partial" } | { r: "yes"; json: boolean; fenced: boolean; body: number };

function matchXmlRoot(t: string, i: number): Match {
  let j = i + 1;
  while (j < t.length && NAME_CHAR.test(t[j]!)) j++;
  const name = t.slice(i + 1, j);
  const local = name.slice(name.lastIndexOf(":") + 1);
  if (j >= t.length) {
    if (!name) return "partial";
    if (name.includes(":")) return XML_ROOTS.some((r) => r.startsWith(local)) ? "partial" : "no";
    return XML_ROOTS.some((r) => r.startsWith(name)) || /^[A-Za-z][\w.-]*$/.test(name) ? "partial" : "no";
  }
  return XML_ROOTS.includes(local) && /[\s>/]/.test(t[j]!) ? "yes" : "no";
}

const skipWs = (t: string, j: number) => {
  while (j < t.length && /\s/.test(t[j]!)) j++;
  return j;
};

function matchJsonKey(t: string, i: number): Match {
  let j = skipWs(t, i + 1);
  const key = '"tool_calls"';
  for (let k = 0; k < key.length; k++, j++) {
    if (j >= t.length) return "partial";
    if (t[j] !== key[k]) return "no";
  }
  j = skipWs(t, j);
  if (j >= t.length) return "partial";
  return t[j] === ":" ? "yes" : "no";
}

/** Decides whether `t` (a candidate starting with `<`, a backtick or `{`) opens an envelope. */
export function matchOpener(t: string, prev: string): Opener {
  const c = t[0];
  if (c === "<") {
    if (prev === "`") return { r: "no" };
    const m = matchXmlRoot(t, 0);
    return m === "yes" ? { r: "yes", json: false, fenced: false, body: 0 } : { r: m };
  }
  if (c === "{") {
    const m = matchJsonKey(t, 0);
    return m === "yes" ? { r: "yes", json: true, fenced: false, body: 0 } : { r: m };
  }
  if (c === "`") {
    for (let k = 0; k < 3; k++) {
      if (k >= t.length) return { r: "partial" };
      if (t[k] !== "`") return { r: "no" };
    }
    let j = 3;
    while (j < t.length && /[A-Za-z0-9_]/.test(t[j]!)) j++;
    if (j >= t.length) return { r: "partial" };
    if (!FENCE_LANGS.has(t.slice(3, j).toLowerCase())) return { r: "no" };
    j = skipWs(t, j);
    if (j >= t.length) return { r: "partial" };
    const m = t[j] === "{" ? matchJsonKey(t, j) : t[j] === "<" ? matchXmlRoot(t, j) : "no";
    return m === "yes" ? { r: "yes", json: t[j] === "{", fenced: true, body: j } : { r: m };
  }
  return { r: "no" };
}

