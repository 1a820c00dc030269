import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { claudeBinary, skipReason } from "../support/clients.js";
import { startStack, type Stack } from "../support/stack.js";

/**
 * The real Claude Code CLI (2.1.330, test/clients) against the real server and the fake
 * grok.com: `claude -p` with a scratch HOME and only ANTHROPIC_BASE_URL and a key — no model
 * variables, so its own model names go through model_map. The fake plays the model: it answers
 * in the tool envelope the prompt asked for, then answers in text once the tool result is back.
 */
const claude = claudeBinary();
const KEY = "cc-test-key";

function runClaude(args: string[], cwd: string, home: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: home,
      ANTHROPIC_BASE_URL: stack.url,
      ANTHROPIC_API_KEY: KEY,
      DISABLE_AUTOUPDATER: "1",
      DISABLE_TELEMETRY: "1",
      DISABLE_ERROR_REPORTING: "1",
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
      CLAUDE_CODE_MAX_RETRIES: "0",
    };
    const child = spawn(claude!, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 90_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

let stack: Stack;
let home: string;
let work: string;
const prompts: string[] = [];

describe.skipIf(!claude)(`Claude Code end to end${claude ? "" : ` (skipped: ${skipReason("claude")})`}`, () => {
  beforeAll(async () => {
    stack = await startStack({ accounts: ["super"], env: { GROK2API_API_KEY: KEY } });
    home = mkdtempSync(path.join(tmpdir(), "g2a-cc-home-"));
    work = mkdtempSync(path.join(tmpdir(), "g2a-cc-work-"));
  });
  afterAll(async () => {
    await stack?.close();
    for (const d of [home, work]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it("answers a plain prompt", async () => {
    stack.fake.reset();
    stack.fake.respond((p) => {
      prompts.push(p);
      return p.includes("What is the capital of France?") ? "The capital of France is Paris." : undefined;
    });
    const r = await runClaude(["-p", "What is the capital of France?", "--output-format", "json"], work, home);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const out = JSON.parse(r.stdout) as { result: string; is_error: boolean; num_turns: number };
    expect(out.is_error).toBe(false);
    expect(out.result).toContain("Paris");
  }, 120_000);

  it("runs a tool round: Write a file, then answers after the tool result", async () => {
    stack.fake.reset();
    const target = path.join(work, "hello.txt");
    const content = "hello from grok\nsecond line with \"quotes\"\n";
    prompts.length = 0;
    stack.fake.respond((p) => {
      prompts.push(p);
      if (!p.includes("Create hello.txt")) return undefined;
      if (/\[tool (result|error) for [^\]]*\(Write\)\]/.test(p)) return "I wrote hello.txt for you.";
      if (!p.includes("<tool_calls>") || !p.includes("## Write")) return "no tools were offered";
      const call = { name: "Write", arguments: { file_path: target, content } };
      return `I'll create the file.\n<tool_calls>\n<tool_call>${JSON.stringify(call)}</tool_call>\n</tool_calls>`;
    });
    const r = await runClaude(["-p", "Create hello.txt with a greeting.", "--output-format", "json", "--allowedTools", "Write"], work, home);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const out = JSON.parse(r.stdout) as { result: string; is_error: boolean; num_turns: number };
    expect(out.is_error).toBe(false);
    expect(out.result).toContain("I wrote hello.txt");
    expect(out.num_turns).toBeGreaterThanOrEqual(2);
    expect(existsSync(target)).toBe(true);
    expect(readFileSync(target, "utf8")).toBe(content);
    // The second turn showed the model the call it made and the tool's result.
    const second = prompts.filter((p) => p.includes("Create hello.txt")).at(-1)!;
    expect(second).toMatch(/<tool_call>\{"name":"Write"/);
    expect(second).toMatch(/\[tool result for [^\]]*\(Write\)\]/);
  }, 120_000);
});
