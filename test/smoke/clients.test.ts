import { describe, expect, it } from "vitest";
import { CLAUDE_VERSION, CODEX_VERSION, claudeBinary, clientsRequired, clientVersion, codexBinary, skipReason, type Client } from "../support/clients.js";

/**
 * The heavy real clients of test/clients install and run offline at their pinned versions.
 * Without test/clients/node_modules each case is skipped with the reason; under .ci/run
 * (GROK2API_REQUIRE_CLIENTS=1) a missing client fails instead.
 */
describe("real clients in test/clients", () => {
  const cases: Array<{ client: Client; name: string; pinned: string; bin: () => string | null; expected: RegExp }> = [
    { client: "claude", name: "@anthropic-ai/claude-code", pinned: CLAUDE_VERSION, bin: claudeBinary, expected: /^(\S+) \(Claude Code\)$/ },
    { client: "codex", name: "@openai/codex", pinned: CODEX_VERSION, bin: codexBinary, expected: /^codex-cli (\S+)$/ },
  ];
  for (const c of cases) {
    it(`${c.name} --version is the pinned ${c.pinned}`, (ctx) => {
      const bin = c.bin();
      if (!bin) {
        if (clientsRequired) throw new Error(`GROK2API_REQUIRE_CLIENTS=1 but ${skipReason(c.client)}`);
        ctx.skip(skipReason(c.client));
      }
      expect(c.pinned).toMatch(/^\d+\.\d+\.\d+$/);
      expect(bin).toMatch(/^\//);
      const m = c.expected.exec(clientVersion(c.client) ?? "");
      expect(m?.[1]).toBe(c.pinned);
    });
  }
});
