import { describe, expect, it } from "vitest";
import type { ToolSpec } from "../../../src/server/core/turn.js";
import { aliasKey, checkArguments } from "../../../src/server/protocols/tools/arguments.js";
import { MAX_JSON_DEPTH, jsonDepthWithin, parseJsonTolerant, repairJson, valueDepthWithin } from "../../../src/server/protocols/tools/json.js";

const value = (t: string) => {
  const r = parseJsonTolerant(t);
  return r.ok ? r.value : "FAILED";
};

describe("json depth", () => {
  it("counts nesting iteratively and skips strings", () => {
    expect(jsonDepthWithin("[".repeat(64) + "]".repeat(64))).toBe(true);
    expect(jsonDepthWithin("[".repeat(65) + "]".repeat(65))).toBe(false);
    expect(jsonDepthWithin(`{"a":"${"[".repeat(500)}"}`)).toBe(true);
    expect(jsonDepthWithin(`{"a":"\\"${"{".repeat(100)}"}`)).toBe(true);
    expect(jsonDepthWithin("{".repeat(200_000))).toBe(false);
    expect(MAX_JSON_DEPTH).toBe(64);
  });

  it("checks parsed values without recursion", () => {
    let deep: unknown = 1;
    for (let i = 0; i < 20_000; i++) deep = [deep];
    expect(valueDepthWithin(deep)).toBe(false);
    expect(valueDepthWithin({ a: [{ b: 1 }] })).toBe(true);
  });
});

describe("parseJsonTolerant", () => {
  it("parses valid JSON as is", () => {
    expect(parseJsonTolerant('{"a":[1,2,{"b":null}]}')).toEqual({ ok: true, value: { a: [1, 2, { b: null }] }, repaired: false });
  });

  it("repairs what models get wrong", () => {
    expect(value('{"a": 1, "b": [1, 2,],}')).toEqual({ a: 1, b: [1, 2] });
    expect(value('{"code": "line 1\nline 2\tend"}')).toEqual({ code: "line 1\nline 2\tend" });
    expect(value('{"re": "\\d+\\s\\."}')).toEqual({ re: "\\d+\\s\\." });
    expect(value("{'a': 'it\\'s', 'b': \"x\"}")).toEqual({ a: "it's", b: "x" });
    expect(value('{"a": {"b": [1, 2')).toEqual({ a: { b: [1, 2] } });
    expect(value('{"a": 1}}')).toEqual({ a: 1 });
    expect(value('{"a": 1,, "b": 2}')).toEqual({ a: 1, b: 2 });
    expect(value('{"c": "print("hi")", "d": 1}')).toEqual({ c: 'print("hi")', d: 1 });
    expect(value('{"u": "\\uZZ"}')).toEqual({ u: "\\uZZ" });
  });

  it("keeps apostrophes inside double-quoted strings", () => {
    expect(value(`{"a": "don't 'quote' me",}`)).toEqual({ a: "don't 'quote' me" });
  });

  it("refuses what cannot be repaired safely", () => {
    expect(parseJsonTolerant('{"content": "cut off mid-str').ok).toBe(false);
    expect(parseJsonTolerant('{"a":').ok).toBe(false);
    expect(parseJsonTolerant('{"a": 1} and then prose').ok).toBe(false);
    expect(parseJsonTolerant("").ok).toBe(false);
    expect(parseJsonTolerant("[".repeat(20_000) + "]".repeat(20_000)).ok).toBe(false);
    expect(repairJson("[".repeat(100), { maxDepth: 64 })).toBeNull();
  });
});

describe("checkArguments", () => {
  const read: ToolSpec = {
    name: "Read",
    description: "",
    parameters: {
      type: "object",
      properties: { file_path: { type: "string" }, limit: { type: "number" }, offset: { type: "integer" }, all: { type: "boolean" }, tags: { type: "array" }, opts: { type: "object" }, label: { type: ["string", "null"] } },
      required: ["file_path"],
      additionalProperties: false,
    },
  };
  const ok = (tool: ToolSpec, args: unknown) => {
    const r = checkArguments(tool, args);
    if (!r.ok) throw new Error(r.reason);
    return r.value;
  };
  const reason = (tool: ToolSpec, args: unknown) => {
    const r = checkArguments(tool, args);
    return r.ok ? "ok" : r.reason;
  };

  it("maps argument-name aliases when unambiguous", () => {
    expect(aliasKey("filePath")).toBe(aliasKey("file_path"));
    expect(aliasKey("file-path")).toBe("filepath");
    for (const k of ["filePath", "file-path", "FILE_PATH", "FilePath"]) expect(ok(read, { [k]: "/a" })).toEqual({ file_path: "/a" });
    // Both spellings given: the declared one wins, the other is unknown (dropped: additionalProperties false).
    expect(ok(read, { file_path: "/a", filePath: "/b" })).toEqual({ file_path: "/a" });
    const twins: ToolSpec = { name: "t", description: "", parameters: { type: "object", properties: { file_path: { type: "string" }, filepath: { type: "string" } } } };
    expect(ok(twins, { FilePath: "/a" })).toEqual({ FilePath: "/a" }); // ambiguous: left alone
  });

  it("coerces top-level types where safe and fails where not", () => {
    expect(ok(read, { file_path: "/a", limit: "20", offset: "3", all: "true", tags: '["x"]', opts: '{"k":1}' })).toEqual({ file_path: "/a", limit: 20, offset: 3, all: true, tags: ["x"], opts: { k: 1 } });
    expect(ok(read, { file_path: 42 })).toEqual({ file_path: "42" });
    expect(reason(read, { file_path: { nested: true } })).toBe("file_path must be string");
    expect(reason(read, { file_path: "/a", offset: 1.5 })).toBe("offset must be integer");
    expect(reason(read, { file_path: "/a", limit: "many" })).toBe("limit must be number");
  });

  it("drops null optional values and unknown keys when the schema forbids them", () => {
    expect(ok(read, { file_path: "/a", limit: null, label: null, bogus: 1 })).toEqual({ file_path: "/a", label: null });
    const open: ToolSpec = { name: "o", description: "", parameters: { type: "object", properties: { a: { type: "string" } } } };
    expect(ok(open, { a: "x", extra: [1] })).toEqual({ a: "x", extra: [1] });
  });

  it("requires the required keys and an object", () => {
    expect(reason(read, {})).toBe("missing required file_path");
    expect(reason(read, { file_path: null })).toBe("file_path must be string");
    expect(reason(read, [1])).toBe("arguments must be a JSON object");
    expect(reason(read, "not json")).toBe("arguments are not a JSON object");
    expect(ok(read, '{"file_path": "/s",}')).toEqual({ file_path: "/s" });
    const none: ToolSpec = { name: "n", description: "", parameters: {} };
    expect(ok(none, undefined)).toEqual({});
    expect(ok(none, "")).toEqual({});
    expect(ok(none, { any: 1 })).toEqual({ any: 1 });
  });

  it("gives freeform tools one string, input", () => {
    const patch: ToolSpec = { name: "apply_patch", description: "", parameters: {}, freeform: true };
    expect(ok(patch, "*** Begin Patch")).toEqual({ input: "*** Begin Patch" });
    expect(ok(patch, { input: "x" })).toEqual({ input: "x" });
    expect(ok(patch, { patch: "y" })).toEqual({ input: "y" });
    expect(ok(patch, '{"input": "z"}')).toEqual({ input: "z" });
    expect(reason(patch, { a: "1", b: "2" })).toBe("a freeform tool takes one string, input");
    expect(reason(patch, { input: 5 })).toBe("a freeform tool takes one string, input");
  });
});
