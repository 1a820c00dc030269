/**
 * The envelope scanner: splits model output into prose and candidate tool-call envelopes, fed
 * in pieces of any size. The non-stream parser (parse.ts) and the stream sieve (sieve.ts) both
 * use it, so a text gives the same envelopes however it is split into deltas.
 *
 * An envelope starts with one of (docs/tool-calling.md, "Forms accepted"):
 *   `<tool_calls`, `<tool_call`, `<function_calls`, `<function_call`, `<invoke` (any `ns:` prefix) followed by
 *   whitespace, `>` or `/` — not right after a backtick (inline code);
 *   a code fence ```` ``` ```` (language empty, json, jsonc, json5, xml, tool_call, tool_calls)
 *   whose first content is one of those tags or `{"tool_calls":`;
 *   a bare `{"tool_calls":`.
 * It ends at the root element's closing tag (not inside a JSON value: `</tool_calls>` within a
 * JSON string does not end it), at the end of the balanced JSON object, plus a closing fence
 * when it was fenced. JSON inside XML stops at a `<` outside strings (missing closing braces),
 * fenced JSON at a ```` ``` ```` outside strings.
 *
 * Costs: prose is searched for the three trigger characters only; a candidate opener is at most
 * OPENER_MAX characters; inside an envelope each character is looked at once by a small state
 * machine, so every delta costs O(its length). An envelope that has not closed after HOLD_LIMIT
 * characters is no longer tracked: it is decided at end().
 */

export type ScanSegment = { kind: "text"; text: string } | { kind: "envelope"; raw: string; closed: boolean };

/** Characters an undecided envelope is tracked for before it is left to end(). */
export const HOLD_LIMIT = 256 * 1024;
/** Longest candidate opener (fence line, whitespace, tag name) before it is decided "not an envelope". */
export const OPENER_MAX = 64;

export const XML_ROOTS = ["tool_calls", "tool_call", "function_calls", "function_call", "invoke"];
/** Elements whose content may be JSON (tracked string-aware so markup inside strings is not taken for tags). */
const JSON_CONTAINERS = new Set(["tool_call", "function_call", "invoke", "parameters", "arguments", "args", "params", "input"]);
const FENCE_LANGS = new Set(["", "json", "jsonc", "json5", "xml", "tool_call", "tool_calls"]);
const NAME_CHAR = /[A-Za-z0-9_.:-]/;
const TRIGGER = /[<`{]/g;

type Match = "no" | "partial" | "yes";
type Opener = { r: "no" } | { r: "partial" } | { r: "yes"; json: boolean; fenced: boolean; body: number };

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

/**
 * Finds where an envelope's body ends, one character at a time. `feed` returns the index just
 * after the end within `s`, or -1 when it needs more input.
 */
class BodyMachine {
  private state: "content" | "tag" | "closer" | "attrs" | "maybejson" | "fenceline" | "json" = "content";
  private root: string | null = null;
  private tag = "";
  private attrQuote = "";
  private attrLen = 0;
  private lastAttrChar = "";
  private container = false;
  private depth = 0;
  private inString = false;
  private escaped = false;
  private backticks = 0;
  /** An XML envelope (JSON values inside it return to XML content when they end). */
  private readonly xml: boolean;

  /** The body ended at a closing fence (an unbalanced fenced JSON object). */
  closedByFence = false;

  constructor(json: boolean, readonly fenced: boolean) {
    this.xml = !json;
    if (json) this.state = "json";
  }

  feed(s: string, from: number, until: number): number {
    let i = from;
    while (i < until) {
      const c = s[i]!;
      switch (this.state) {
        case "content": {
          const lt = s.indexOf("<", i);
          if (lt < 0 || lt >= until) return -1;
          this.state = "tag";
          this.tag = "<";
          i = lt + 1;
          continue;
        }
        case "tag": {
          if (this.tag === "<" && c === "/") {
            this.tag += c;
            i++;
            continue;
          }
          if (NAME_CHAR.test(c)) {
            this.tag += c;
            i++;
            if (this.tag.length > 80) this.state = "content";
            continue;
          }
          const closing = this.tag[1] === "/";
          const name = this.tag.slice(closing ? 2 : 1);
          const local = name.slice(name.lastIndexOf(":") + 1);
          if (!name) {
            this.state = "content";
            continue; // reprocess c
          }
          if (this.root === null && !closing) {
            this.root = local;
            this.enterAttrs(JSON_CONTAINERS.has(local));
            continue;
          }
          if (closing && local === this.root) {
            this.state = "closer";
            continue;
          }
          if (!closing && JSON_CONTAINERS.has(local)) {
            this.enterAttrs(true);
            continue;
          }
          this.state = "content";
          continue;
        }
        case "closer":
          if (c === ">") return i + 1;
          if (/\s/.test(c)) {
            i++;
            continue;
          }
          this.state = "content";
          continue;
        case "attrs":
          if (this.attrQuote) {
            if (c === this.attrQuote) this.attrQuote = "";
          } else if (c === '"' || c === "'") this.attrQuote = c;
          else if (c === ">") {
            this.state = this.container && this.lastAttrChar !== "/" ? "maybejson" : "content";
            i++;
            continue;
          } else if (c === "<") {
            this.state = "content";
            continue;
          }
          if (!/\s/.test(c)) this.lastAttrChar = c;
          i++;
          if (++this.attrLen > 512) this.state = "content";
          continue;
        case "maybejson":
          if (/\s/.test(c)) {
            i++;
            continue;
          }
          if (c === "`") {
            this.state = "fenceline";
            i++;
            continue;
          }
          if (c === "{" || c === "[") {
            this.state = "json";
            this.depth = 0;
            this.inString = false;
            this.escaped = false;
            continue; // the json state counts this bracket
          }
          this.state = "content";
          continue;
        case "fenceline":
          if (c === "\n") this.state = "maybejson";
          else if (c === "<") {
            this.state = "content";
            continue;
          }
          i++;
          continue;
        case "json": {
          if (this.inString) {
            if (this.escaped) this.escaped = false;
            else if (c === "\\") this.escaped = true;
            else if (c === '"') this.inString = false;
            i++;
            continue;
          }
          if (c === '"') {
            this.inString = true;
            this.backticks = 0;
          } else if (c === "{" || c === "[") this.depth++;
          else if (c === "}" || c === "]") {
            if (--this.depth <= 0) {
              i++;
              if (this.xml) {
                this.state = "content";
                continue;
              }
              return i;
            }
          } else if (c === "<" && this.xml) {
            this.state = "content"; // no JSON text has a "<" outside strings: the braces are missing
            continue;
          } else if (c === "`" && this.fenced && !this.xml) {
            if (++this.backticks === 3) {
              this.closedByFence = true; // the closing fence of an unbalanced object
              return i + 1;
            }
            i++;
            continue;
          }
          this.backticks = 0;
          i++;
          continue;
        }
      }
    }
    return -1;
  }

  private enterAttrs(container: boolean): void {
    this.state = "attrs";
    this.container = container;
    this.attrQuote = "";
    this.attrLen = 0;
    this.lastAttrChar = "";
  }
}

class Segments {
  readonly list: ScanSegment[] = [];
  text(t: string): void {
    if (!t) return;
    const last = this.list[this.list.length - 1];
    if (last?.kind === "text") last.text += t;
    else this.list.push({ kind: "text", text: t });
  }
  envelope(raw: string, closed: boolean): void {
    this.list.push({ kind: "envelope", raw, closed });
  }
}

export class EnvelopeScanner {
  private mode: "text" | "opener" | "body" | "postfence" | "overflow" = "text";
  /** Undecided opener text carried to the next push (at most OPENER_MAX characters). */
  private cand = "";
  /** The stream character before the current position. */
  private prev = "";
  private body: BodyMachine | null = null;
  private parts: string[] = [];
  private held = 0;
  /** A fenced envelope whose body closed, waiting to see whether its closing fence follows. */
  private pending = "";
  private tailWs = "";
  private ticks = 0;

  push(s: string): ScanSegment[] {
    return this.run(s, false);
  }

  end(): ScanSegment[] {
    return this.run("", true);
  }

  private run(s: string, final: boolean): ScanSegment[] {
    const out = new Segments();
    const cur = this.mode === "opener" ? this.cand + s : s;
    this.cand = "";
    let i = 0;
    let rawStart = 0;
    for (;;) {
      if (this.mode === "text") {
        TRIGGER.lastIndex = i;
        const m = TRIGGER.exec(cur);
        const stop = m ? m.index : cur.length;
        if (stop > i) {
          out.text(cur.slice(i, stop));
          this.prev = cur[stop - 1]!;
        }
        if (!m) break;
        i = stop;
        this.mode = "opener";
      }
      if (this.mode === "opener") {
        const t = cur.slice(i, i + OPENER_MAX);
        let o = matchOpener(t, this.prev);
        if (o.r === "partial" && (final || t.length >= OPENER_MAX)) o = { r: "no" };
        if (o.r === "partial") {
          this.cand = cur.slice(i);
          break;
        }
        if (o.r === "no") {
          out.text(cur[i]!);
          this.prev = cur[i]!;
          i++;
          this.mode = "text";
          continue;
        }
        this.mode = "body";
        this.body = new BodyMachine(o.json, o.fenced);
        this.parts = [];
        this.held = o.body;
        rawStart = i;
        i += o.body;
      }
      if (this.mode === "body") {
        const body = this.body!;
        const until = Math.min(cur.length, i + (HOLD_LIMIT - this.held));
        const end = body.feed(cur, i, until);
        if (end < 0) {
          this.held += until - i;
          this.parts.push(cur.slice(rawStart));
          i = cur.length;
          if (this.held >= HOLD_LIMIT) this.mode = "overflow";
          if (final) {
            out.envelope(this.parts.join(""), false);
            this.reset();
          }
          break;
        }
        this.parts.push(cur.slice(rawStart, end));
        this.prev = cur[end - 1]!;
        i = end;
        const raw = this.parts.join("");
        this.parts = [];
        this.body = null;
        if (body.fenced && !body.closedByFence) {
          this.mode = "postfence";
          this.pending = raw;
          this.tailWs = "";
          this.ticks = 0;
        } else {
          out.envelope(raw, true);
          this.mode = "text";
          continue;
        }
      }
      if (this.mode === "postfence") {
        // After a fenced envelope's body: whitespace, then the closing fence (taken into the
        // envelope) or anything else (the envelope ends at its body; what was looked at is prose).
        let decided = false;
        while (i < cur.length) {
          const c = cur[i]!;
          if (c === "`") {
            i++;
            if (++this.ticks === 3) {
              out.envelope(this.pending + this.tailWs + "```", true);
              this.prev = "`";
              decided = true;
              break;
            }
            continue;
          }
          if (this.ticks === 0 && /\s/.test(c) && this.tailWs.length < OPENER_MAX) {
            this.tailWs += c;
            i++;
            continue;
          }
          this.releasePending(out);
          decided = true;
          break;
        }
        if (!decided && final) {
          this.releasePending(out);
          decided = true;
        }
        if (!decided) break;
        this.pending = "";
        this.mode = "text";
        continue;
      }
      if (this.mode === "overflow") {
        if (i < cur.length) this.parts.push(cur.slice(i));
        if (final) {
          out.envelope(this.parts.join(""), false);
          this.reset();
        }
        break;
      }
    }
    return out.list;
  }

  private releasePending(out: Segments): void {
    out.envelope(this.pending, true);
    const looked = this.tailWs + "`".repeat(this.ticks);
    out.text(looked);
    if (looked) this.prev = looked[looked.length - 1]!;
    this.pending = "";
    this.tailWs = "";
    this.ticks = 0;
  }

  private reset(): void {
    this.mode = "text";
    this.body = null;
    this.parts = [];
    this.held = 0;
  }
}

/** Scans a whole text at once. */
export function scanText(text: string): ScanSegment[] {
  const s = new EnvelopeScanner();
  const a = s.push(text);
  const b = s.end();
  const out = new Segments();
  for (const seg of [...a, ...b]) {
    if (seg.kind === "text") out.text(seg.text);
    else out.envelope(seg.raw, seg.closed);
  }
  return out.list;
}
