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

import { BodyMachine } from "./body.js";
import { matchOpener, OPENER_MAX } from "./opener.js";

export { matchOpener, OPENER_MAX, XML_ROOTS } from "./opener.js";

export type ScanSegment = { kind: "text"; text: string } | { kind: "envelope"; raw: string; closed: boolean };

/** Characters an undecided envelope is tracked for before it is left to end(). */
export const HOLD_LIMIT = 256 * 1024;

const TRIGGER = /[<`{]/g;

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
