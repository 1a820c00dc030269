import { describe, expect, it } from "vitest";
import { JsonObjectScanner } from "../../src/server/grok/json-scanner.js";

describe("JsonObjectScanner", () => {
  it("finds objects in NDJSON, SSE data lines, concatenated objects and noise", () => {
    const s = new JsonObjectScanner();
    const input = '{"a":1}\n\ndata: {"b":"x}y"}\nevent: foo\n{"c":{"d":[1,2]}}{"e":"\\"}"}\ndata: [DONE]\n';
    const got = s.push(input).concat(s.end());
    expect(got).toEqual([{ a: 1 }, { b: "x}y" }, { c: { d: [1, 2] } }, { e: '"}' }]);
  });

  it("reassembles objects and multi-byte characters split at every byte offset", () => {
    const obj = { result: { response: { token: "你好🌍 — ok", isThinking: false } } };
    const bytes = Buffer.from(JSON.stringify(obj) + "\n" + JSON.stringify(obj) + "\n");
    for (let cut = 1; cut < bytes.length; cut += 3) {
      const s = new JsonObjectScanner();
      const got = [...s.push(bytes.subarray(0, cut)), ...s.push(bytes.subarray(cut)), ...s.end()];
      expect(got).toEqual([obj, obj]);
    }
  });

  it("keeps an object that continues over several lines, and flags a truncated one", () => {
    const s = new JsonObjectScanner();
    const got = [...s.push('noise {"a":\n'), ...s.push('{"b":2}}\n{"c":3}\n{"d":')];
    got.push(...s.end());
    expect(got).toEqual([{ a: { b: 2 } }, { c: 3 }]);
    expect(s.truncated).toBe(true);
  });

  it("feeds byte by byte", () => {
    const s = new JsonObjectScanner();
    const bytes = Buffer.from('{"t":"é€😀"}');
    const got: unknown[] = [];
    for (const b of bytes) got.push(...s.push(Uint8Array.of(b)));
    got.push(...s.end());
    expect(got).toEqual([{ t: "é€😀" }]);
  });
});
