/**
 * JSON parsing with a nesting cap. `JSON.parse` itself copes with deep nesting, but everything
 * after it that walks the value recursively (zod, structuredClone, JSON.stringify, our own
 * walkers) overflows the stack somewhere past ~10 000 levels and turns a hostile request into a
 * 500 "Maximum call stack size exceeded". Parse untrusted JSON here instead: one linear pass
 * counts the depth (outside strings) before `JSON.parse` runs.
 */

/** Default cap for request bodies and for JSON nested inside them (tool-call `arguments`, settings values). */
export const MAX_JSON_DEPTH = 64;

/** Thrown when the text nests deeper than allowed. `path` names where, e.g. `messages[0].content`. */
export class JsonDepthError extends Error {
  constructor(
    readonly maxDepth: number,
    readonly path: string,
  ) {
    super(`JSON nested deeper than ${maxDepth} levels${path ? ` at ${path}` : ""}`);
    this.name = "JsonDepthError";
  }
}

/** Throws `JsonDepthError` as soon as a container opens deeper than `maxDepth` (strings skipped). */
function checkDepth(text: string, maxDepth: number): void {
  // Per open container: the key being read (objects) or the element index (arrays), for the path.
  const stack: Array<{ array: boolean; key: string; index: number }> = [];
  let lastString = "";
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i + 1;
      for (i = start; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i++;
        else if (d === 0x22) break;
      }
      // Keys are short in practice; keep at most 64 characters of one for the path.
      lastString = text.slice(start, Math.min(i, start + 64));
    } else if (c === 0x3a /* : */) {
      const top = stack[stack.length - 1];
      if (top && !top.array) top.key = lastString;
    } else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1];
      if (top?.array) top.index++;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (stack.length >= maxDepth) throw new JsonDepthError(maxDepth, pathOf(stack));
      stack.push({ array: c === 0x5b, key: "", index: 0 });
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    }
  }
}

/** The first few levels of the path (the part that names the field); deeper levels become "…". */
function pathOf(stack: Array<{ array: boolean; key: string; index: number }>): string {
  let out = "";
  const shown = Math.min(stack.length, 4);
  // Each open container's current key (or index) leads to the next one; stack[0] is the root.
  for (let i = 0; i < shown; i++) {
    const s = stack[i]!;
    out += s.array ? `[${s.index}]` : /^[A-Za-z_$][\w$-]*$/.test(s.key) ? `${out ? "." : ""}${s.key}` : `[${JSON.stringify(s.key)}]`;
  }
  if (stack.length > shown) out += "…";
  return out;
}

/**
 * `JSON.parse` with a nesting cap: throws `JsonDepthError` (naming the path) when any object or
 * array is nested deeper than `maxDepth`, `SyntaxError` when the text is not JSON.
 */
export function parseJsonLimited(text: string, maxDepth: number = MAX_JSON_DEPTH): unknown {
  checkDepth(text, maxDepth);
  return JSON.parse(text);
}

/** Depth of an already-parsed JSON value, computed without recursion (stops counting past `stopAt`). */
export function jsonDepth(value: unknown, stopAt = Number.MAX_SAFE_INTEGER): number {
  let max = 0;
  const todo: Array<[unknown, number]> = [[value, 0]];
  while (todo.length) {
    const [v, d] = todo.pop()!;
    if (v === null || typeof v !== "object") continue;
    const depth = d + 1;
    if (depth > max) max = depth;
    if (max > stopAt) return max;
    for (const child of Array.isArray(v) ? v : Object.values(v)) todo.push([child, depth]);
  }
  return max;
}

/**
 * True when no object/array nesting in `text` goes deeper than `max`. Double-quoted strings are
 * skipped (with escapes); works on broken JSON too. Iterative.
 */
export function jsonDepthWithin(text: string, max = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
      continue;
    }
    if (c === 34) inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > max) return false;
    } else if (c === 125 /* } */ || c === 93 /* ] */) {
      if (depth > 0) depth--;
    }
  }
  return true;
}
