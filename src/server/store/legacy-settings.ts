/**
 * The original Grok2API's settings: the `{"global": {...}, "grok": {...}}` object (its MySQL and
 * Redis copies) and data/setting.toml (`[global]` / `[grok]` tables), both → our settings
 * sections as-is. Pure.
 */
import { cloneJson, isPlainObject } from "./records.js";
import type { StoredSettings } from "./types.js";

/**
 * Original settings `{"global": {...}, "grok": {...}}` → our sections, passed through as-is
 * (deep-copied). Top-level scalars, which the original never wrote, are kept under "global".
 */
export function importLegacySettings(doc: unknown): StoredSettings {
  if (!isPlainObject(doc)) throw new TypeError("settings must be a JSON object of sections");
  const out: StoredSettings = {};
  for (const [k, v] of Object.entries(doc)) {
    if (isPlainObject(v)) out[k] = cloneJson(v);
    else (out.global ??= {})[k] = cloneJson(v);
  }
  return out;
}

/**
 * The original's data/setting.toml → sections. A small TOML subset parser covering what that
 * file uses: [tables] (dotted names kept as one section name), bare/quoted keys, basic and
 * literal strings (single- and multi-line), integers, floats, booleans, arrays (also multi-line)
 * and inline tables. Throws with a line number on anything else.
 */
export function parseLegacySettingsToml(text: string): StoredSettings {
  const src = String(text ?? "").replace(/\r\n?/g, "\n");
  let i = 0;
  let line = 1;
  const out: StoredSettings = {};
  let section: Record<string, unknown> | null = null;
  const fail = (msg: string): never => {
    throw new SyntaxError(`setting.toml line ${line}: ${msg}`);
  };
  const peek = () => src[i];
  const skipWs = () => {
    while (i < src.length && (src[i] === " " || src[i] === "\t")) i++;
  };
  const skipWsNlComments = () => {
    for (;;) {
      skipWs();
      if (src[i] === "#") while (i < src.length && src[i] !== "\n") i++;
      if (src[i] === "\n") {
        i++;
        line++;
        continue;
      }
      return;
    }
  };
  const endOfLine = () => {
    skipWs();
    if (src[i] === "#") while (i < src.length && src[i] !== "\n") i++;
    if (i < src.length && src[i] !== "\n") fail(`unexpected "${src[i]}"`);
  };
  const parseKey = (): string => {
    skipWs();
    const parts: string[] = [];
    for (;;) {
      skipWs();
      const c = peek();
      if (c === '"' || c === "'") parts.push(parseString());
      else {
        const m = /^[A-Za-z0-9_-]+/.exec(src.slice(i));
        if (!m) fail("expected a key");
        parts.push(m![0]);
        i += m![0].length;
      }
      skipWs();
      if (peek() === ".") {
        i++;
        continue;
      }
      return parts.join(".");
    }
  };
  const parseString = (): string => {
    const q = src[i]!;
    const multi = src.startsWith(q.repeat(3), i);
    i += multi ? 3 : 1;
    if (multi && src[i] === "\n") {
      i++;
      line++;
    }
    let s = "";
    for (;;) {
      if (i >= src.length) fail("unterminated string");
      const c = src[i]!;
      if (multi ? src.startsWith(q.repeat(3), i) : c === q) {
        i += multi ? 3 : 1;
        return s;
      }
      if (c === "\n") {
        if (!multi) fail("newline in string");
        line++;
      }
      if (c === "\\" && q === '"') {
        const e = src[i + 1];
        const map: Record<string, string> = { n: "\n", t: "\t", r: "\r", b: "\b", f: "\f", '"': '"', "\\": "\\" };
        if (e !== undefined && e in map) {
          s += map[e];
          i += 2;
          continue;
        }
        if (e === "u" || e === "U") {
          const len = e === "u" ? 4 : 8;
          const hex = src.slice(i + 2, i + 2 + len);
          if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== len) fail("bad unicode escape");
          s += String.fromCodePoint(parseInt(hex, 16));
          i += 2 + len;
          continue;
        }
        if (multi && e === "\n") {
          // line-ending backslash: trim the newline and following whitespace
          i += 1;
          while (i < src.length && /\s/.test(src[i]!)) {
            if (src[i] === "\n") line++;
            i++;
          }
          continue;
        }
        fail(`bad escape "\\${e ?? ""}"`);
      }
      s += c;
      i++;
    }
  };
  const parseValue = (): unknown => {
    skipWs();
    const c = peek();
    if (c === '"' || c === "'") return parseString();
    if (c === "[") {
      i++;
      const arr: unknown[] = [];
      for (;;) {
        skipWsNlComments();
        if (peek() === "]") {
          i++;
          return arr;
        }
        arr.push(parseValue());
        skipWsNlComments();
        if (peek() === ",") {
          i++;
          continue;
        }
        if (peek() === "]") {
          i++;
          return arr;
        }
        fail("expected , or ] in array");
      }
    }
    if (c === "{") {
      i++;
      const obj: Record<string, unknown> = {};
      skipWs();
      if (peek() === "}") {
        i++;
        return obj;
      }
      for (;;) {
        const k = parseKey();
        skipWs();
        if (peek() !== "=") fail("expected = in inline table");
        i++;
        obj[k] = parseValue();
        skipWs();
        if (peek() === ",") {
          i++;
          continue;
        }
        if (peek() === "}") {
          i++;
          return obj;
        }
        fail("expected , or } in inline table");
      }
    }
    const m = /^[^\s,\]}#]+/.exec(src.slice(i));
    if (!m) fail("expected a value");
    const word = m![0];
    i += word.length;
    if (word === "true") return true;
    if (word === "false") return false;
    if (word === "inf" || word === "+inf") return Infinity;
    if (word === "-inf") return -Infinity;
    if (word === "nan" || word === "+nan" || word === "-nan") return NaN;
    const num = word.replace(/_/g, "");
    if (/^[+-]?(0x[0-9a-fA-F]+|0o[0-7]+|0b[01]+)$/.test(num)) {
      const neg = num.startsWith("-");
      const body = num.replace(/^[+-]/, "");
      const v = Number(body);
      return neg ? -v : v;
    }
    if (/^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(num)) return Number(num);
    // dates and times are kept as their text
    if (/^\d{4}-\d{2}-\d{2}/.test(word) || /^\d{2}:\d{2}/.test(word)) return word;
    return fail(`unsupported value "${word}"`);
  };

  for (;;) {
    skipWsNlComments();
    if (i >= src.length) break;
    if (peek() === "[") {
      if (src[i + 1] === "[") fail("arrays of tables are not supported");
      i++;
      const name = parseKey();
      skipWs();
      if (peek() !== "]") fail("expected ] after table name");
      i++;
      endOfLine();
      section = out[name] ??= {};
      continue;
    }
    const key = parseKey();
    skipWs();
    if (peek() !== "=") fail(`expected = after key "${key}"`);
    i++;
    const value = parseValue();
    endOfLine();
    (section ?? (out.global ??= {}))[key] = value;
  }
  return out;
}
