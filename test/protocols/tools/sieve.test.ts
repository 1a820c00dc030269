import { describe, expect, it } from "vitest";
import type { ToolSpec } from "../../../src/server/core/turn.js";
import { parseToolCalls } from "../../../src/server/protocols/tools/parse.js";
import { HOLD_LIMIT } from "../../../src/server/protocols/tools/scan.js";
import { type ParsedCall, ToolSieve } from "../../../src/server/protocols/tools/sieve.js";
import { CASES, MARKUP, TOOLS, fixture } from "./fixtures.js";
import { seeded } from "../../support/random.js"; // seeded, so a failing random split can be replayed


/** Splits at code-unit boundaries (deltas from grok.com can split anywhere, even surrogate pairs). */
function split(text: string, sizes: () => number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; ) {
    const n = Math.max(1, sizes());
    out.push(text.slice(i, i + n));
    i += n;
  }
  return out;
}

function run(deltas: string[], tools: ToolSpec[] = TOOLS, opts?: { enabled?: boolean; parallel?: boolean }) {
  const sieve = new ToolSieve(tools, opts);
  const texts: string[] = [];
  const calls: ParsedCall[] = [];
  for (const d of deltas) {
    const o = sieve.push(d);
    texts.push(o.text);
    calls.push(...o.calls);
  }
  const e = sieve.end();
  texts.push(e.text);
  calls.push(...e.calls);
  return { text: texts.join(""), texts, calls, sawCalls: sieve.sawCalls };
}

describe("ToolSieve on the fixtures, split every way", () => {
  for (const c of CASES) {
    describe(c.file, () => {
      const text = fixture(c.file);
      const expected = parseToolCalls(text, TOOLS).calls;

      const check = (deltas: string[], label: string) => {
        const r = run(deltas);
        expect(r.calls, label).toEqual(expected);
        expect(r.text, label).toBe(c.streamed);
        expect(r.sawCalls, label).toBe(expected.length > 0);
        if (expected.length) for (const t of r.texts) expect(t, label).not.toMatch(MARKUP);
      };

      it("matches the non-stream parse", () => {
        expect(expected.map((x) => ({ name: x.name, args: JSON.parse(x.arguments) as unknown }))).toEqual(c.calls);
      });

      for (const n of [1, 2, 3, 7]) it(`deltas of ${n}`, () => check(split(text, () => n), `size ${n}`));

      it("random splits", () => {
        for (let seed = 1; seed <= 25; seed++) {
          const r = seeded(seed);
          check(split(text, () => 1 + Math.floor(r() * 12)), `seed ${seed}`);
        }
      });

      it("two pieces split at every character boundary", () => {
        for (let i = 0; i <= text.length; i++) check([text.slice(0, i), text.slice(i)], `at ${i}`);
      });

      it("the whole text in one delta", () => check([text], "whole"));
    });
  }
});

describe("ToolSieve behaviour", () => {
  const tools: ToolSpec[] = [{ name: "now", description: "", parameters: { type: "object", properties: {} } }];
  const NOW = '<tool_call>{"name":"now","arguments":{}}</tool_call>';

  it("streams prose at once and holds only a possible envelope start", () => {
    const s = new ToolSieve(tools);
    expect(s.push("Hello world").text).toBe("Hello world");
    expect(s.push(", see <").text).toBe(", see");
    expect(s.push("b").text).toBe("");
    expect(s.push(">bold</b> and {").text).toBe(" <b>bold</b> and");
    expect(s.push("x}").text).toBe(" {x}");
    expect(s.push(" ``").text).toBe("");
    expect(s.push("`python\n").text).toBe(" ```python");
    expect(s.end()).toEqual({ text: "\n", calls: [] });
  });

  it("holds <tool_call… until decided, then yields the call and no markup", () => {
    const s = new ToolSieve(tools);
    expect(s.push("Now: <tool_c")).toEqual({ text: "Now:", calls: [] });
    expect(s.push('all>{"name":"now",')).toEqual({ text: "", calls: [] });
    expect(s.sawCalls).toBe(false);
    expect(s.push('"arguments":{}}</tool_call>')).toEqual({ text: "", calls: [{ name: "now", arguments: "{}" }] });
    expect(s.sawCalls).toBe(true);
    expect(s.push(" and more prose")).toEqual({ text: "", calls: [] });
    expect(s.push(NOW)).toEqual({ text: "", calls: [{ name: "now", arguments: "{}" }] });
    expect(s.end()).toEqual({ text: "", calls: [] });
  });

  it("releases a rejected envelope unchanged, and later prose still streams", () => {
    const bad = '<tool_call>{"name":"later","arguments":{}}</tool_call>';
    const r = run(["A ", bad.slice(0, 10), bad.slice(10), " B"], tools);
    expect(r.calls).toEqual([]);
    expect(r.text).toBe("A " + bad + " B");
    expect(r.texts[2]).toBe(" " + bad); // the space before it was held with it
  });

  it("passes only the first call with parallel false", () => {
    const r = run([`<tool_calls>${NOW}${NOW}</tool_calls>`, NOW], tools, { parallel: false });
    expect(r.calls).toEqual([{ name: "now", arguments: "{}" }]);
  });

  it("passes everything through when disabled or without tools", () => {
    for (const r of [run(["a <tool", `_calls>${NOW}</tool_calls>`], tools, { enabled: false }), run(["a <tool", `_calls>${NOW}</tool_calls>`], [])]) {
      expect(r.calls).toEqual([]);
      expect(r.text).toBe(`a <tool_calls>${NOW}</tool_calls>`);
      expect(r.texts[0]).toBe("a <tool");
    }
  });

  it("repairs an envelope left open at the end, or releases it as text", () => {
    expect(run(["<tool_calls>", NOW]).calls).toHaveLength(0); // TOOLS has no "now"
    expect(run(["<tool_calls>", NOW], tools).calls).toEqual([{ name: "now", arguments: "{}" }]);
    const cut = '<tool_call>{"name":"now","arguments":{"x":"cut';
    expect(run(["ok ", cut], tools)).toMatchObject({ calls: [], text: "ok " + cut });
  });

  it("decides a candidate longer than HOLD_LIMIT at end()", () => {
    const big = "x".repeat(HOLD_LIMIT + 1000);
    const s = new ToolSieve(tools);
    const start = s.push(`Intro <tool_call>{"name":"now","arguments":{"pad":"`);
    expect(start.text).toBe("Intro");
    let held = "";
    for (let i = 0; i < big.length; i += 4096) held += s.push(big.slice(i, i + 4096)).text;
    expect(held).toBe("");
    // Closing after the limit is no longer tracked; end() parses what was held.
    expect(s.push('"}}</tool_call> trailing').text).toBe("");
    const e = s.end();
    expect(e.calls).toEqual([{ name: "now", arguments: JSON.stringify({ pad: big }) }]);
  });

  it("costs O(delta): a 256 KB envelope and 1 MB of prose in 1-character deltas", () => {
    const content = "line of code with \\\"quotes\\\" and <tags> {braces}\\n".repeat(4500);
    const env = `<tool_call>{"name":"now","arguments":{"c":"${content}"}}</tool_call>`;
    const prose = "Some <b>prose</b> with {braces} and `ticks` and ``` fences.\n".repeat(17000);
    const t0 = performance.now();
    const s = new ToolSieve(tools);
    let calls = 0;
    for (const ch of env) calls += s.push(ch).calls.length;
    calls += s.end().calls.length;
    expect(calls).toBe(1);
    const s2 = new ToolSieve(tools);
    let out = "";
    for (const ch of prose) out += s2.push(ch).text;
    out += s2.end().text;
    expect(out).toBe(prose);
    expect(performance.now() - t0).toBeLessThan(8000);
  });
});
