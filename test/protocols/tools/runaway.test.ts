import { describe, expect, it } from "vitest";
import { DEFAULT_RUNAWAY_LIMITS, RunawayGuard } from "../../../src/server/protocols/tools/runaway.js";

describe("RunawayGuard", () => {
  it("trips on the limit-th identical delta in a row (128 text, 256 reasoning by default)", () => {
    expect(DEFAULT_RUNAWAY_LIMITS).toEqual({ text: 128, reasoning: 256 });
    const g = new RunawayGuard();
    for (let i = 1; i < 128; i++) expect(g.check("text", "ha")).toBe(false);
    expect(g.check("text", "ha")).toBe(true);
    const r = new RunawayGuard();
    for (let i = 1; i < 256; i++) expect(r.check("reasoning", "…")).toBe(false);
    expect(r.check("reasoning", "…")).toBe(true);
  });

  it("restarts the count on a different delta; empty deltas neither count nor break a run", () => {
    const g = new RunawayGuard({ text: 3, reasoning: 3 });
    expect([g.check("text", "a"), g.check("text", "a"), g.check("text", "b"), g.check("text", "b")]).toEqual([false, false, false, false]);
    expect(g.check("text", "")).toBe(false);
    expect(g.check("text", "b")).toBe(true);
  });

  it("counts text and reasoning separately", () => {
    const g = new RunawayGuard({ text: 3, reasoning: 3 });
    g.check("text", "x");
    g.check("reasoning", "x");
    g.check("text", "x");
    g.check("reasoning", "y");
    expect(g.check("text", "x")).toBe(true);
    expect(g.check("reasoning", "y")).toBe(false);
  });

  it("does not trip on varied real text", () => {
    const g = new RunawayGuard();
    const words = "The quick brown fox jumps over the lazy dog and then ".split(/(?<= )/);
    for (let i = 0; i < 5000; i++) expect(g.check("text", words[i % words.length]!)).toBe(false);
  });
});
