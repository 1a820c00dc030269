/** The envelope body state machine of the envelope scanner (scan.ts): where an envelope ends. */

import { NAME_CHAR } from "./opener.js";

/** Elements whose content may be JSON (tracked string-aware so markup inside strings is not taken for tags). */
const JSON_CONTAINERS = new Set(["tool_call", "function_call", "invoke", "parameters", "arguments", "args", "params", "input"]);

/**
 * Finds where an envelope's body ends, one character at a time. `feed` returns the index just
 * after the end within `s`, or -1 when it needs more input.
 */
export class BodyMachine {
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
