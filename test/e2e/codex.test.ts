import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_MODEL_MAP } from "../../src/server/config/settings-schema.js";
import { parseResponsesRequest, responsesOptions } from "../../src/server/protocols/responses/parse-request.js";
import { decodeReasoningBlob } from "../../src/server/protocols/responses/reasoning-blob.js";
import { CODEX_VERSION, codexBinary, skipReason } from "../support/clients.js";
import { startStack, type Stack } from "../support/stack.js";

/**
 * The real Codex CLI (0.169.0, test/clients) against the real server and the fake grok.com
 * (api-conformance.md §3.5): `codex exec` with a scratch CODEX_HOME/HOME, a custom provider
 * `wire_api="responses"`, no sandbox, in a scratch folder. A loopback recording proxy between
 * Codex and the server keeps every request Codex sends, so the test sees the turns it made and
 * saves two real requests as fixtures (rewritten when missing or with UPDATE_FIXTURES=1;
 * otherwise the fresh capture is checked against them): test/fixtures/codex-request.json (a
 * first turn offering namespace, custom and web_search tools) and
 * test/fixtures/codex-request-tool-round.json (a second turn resending reasoning with this
 * proxy's encrypted_content, the function_call and its function_call_output).
 */
const codex = codexBinary();
const FIXTURES = path.resolve(import.meta.dirname, "..", "fixtures");
const CODEX_FIXTURE = path.join(FIXTURES, "codex-request.json");
const TOOL_ROUND_FIXTURE = path.join(FIXTURES, "codex-request-tool-round.json");
const MAX_FIXTURE_TEXT = 100 * 1024;

type Obj = Record<string, any>;
interface Recorded {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Obj | null;
}

/** A loopback HTTP proxy that records each request and streams the answer back untouched. */
async function recordingProxy(target: string): Promise<{ url: string; requests: Recorded[]; close: () => Promise<void> }> {
  const requests: Recorded[] = [];
  const t = new URL(target);
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks);
      let body: Obj | null = null;
      try {
        body = raw.length ? (JSON.parse(raw.toString("utf8")) as Obj) : null;
      } catch {
        body = { unparsed: raw.toString("utf8").slice(0, 1000) };
      }
      requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
      const up = http.request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: { ...req.headers, host: t.host } }, (ur) => {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        ur.pipe(res);
      });
      up.on("error", (e) => {
        res.writeHead(502, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { message: `recording proxy: ${e.message}` } }));
      });
      up.end(raw);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

let stack: Stack;
let proxy: Awaited<ReturnType<typeof recordingProxy>>;
let scratch: string;
let home: string;
let work: string;

function runCodex(prompt: string, opts: { model?: string; extra?: string[] } = {}): Promise<{ code: number | null; stdout: string; stderr: string; last: string }> {
  const last = path.join(scratch, `last-${Date.now()}.txt`);
  const provider = `model_providers.g2a={name="g2a",base_url="${proxy.url}/v1",env_key="GROK_KEY",wire_api="responses",request_max_retries=0,stream_max_retries=0}`;
  const args = ["exec", ...(opts.extra ?? []), "--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox", "-c", 'model_provider="g2a"', "-c", provider, "-m", opts.model ?? "grok-4.1", "-o", last, prompt];
  return new Promise((resolve, reject) => {
    const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, CODEX_HOME: home, GROK_KEY: "k", NO_COLOR: "1", RUST_LOG: "error" };
    const child = spawn(codex!, args, { cwd: work, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 110_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, last: existsSync(last) ? readFileSync(last, "utf8") : "" });
    });
  });
}

const responsesCalls = (from: number) => proxy.requests.slice(from).filter((r) => r.method === "POST" && r.url.startsWith("/v1/responses"));
const lastUserText = (body: Obj) =>
  (body.input as Obj[])
    .filter((i) => i.type === "message" && i.role === "user")
    .flatMap((i) => (Array.isArray(i.content) ? i.content.map((c: Obj) => c.text ?? "") : [String(i.content)]))
    .join("\n");

describe.skipIf(!codex)(`Codex CLI ${CODEX_VERSION} end to end${codex ? "" : ` (skipped: ${skipReason("codex")})`}`, () => {
  beforeAll(async () => {
    stack = await startStack({ accounts: ["super"], settings: { model_map: { ...DEFAULT_MODEL_MAP, "gpt-*": "grok-chat-fast" } } });
    proxy = await recordingProxy(stack.url);
    scratch = mkdtempSync(path.join(tmpdir(), "g2a-codex-"));
    home = path.join(scratch, "home");
    work = path.join(scratch, "work");
    mkdirSync(home);
    mkdirSync(work);
  });
  afterAll(async () => {
    await proxy?.close();
    await stack?.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it("answers a plain prompt in one turn", async () => {
    stack.fake.reset();
    const from = proxy.requests.length;
    stack.fake.respond((p) => (p.includes("What is the capital of France?") ? "The capital of France is Paris." : undefined));
    const r = await runCodex("What is the capital of France?");
    expect(r.code, r.stderr).toBe(0);
    expect(r.last.trim()).toBe("The capital of France is Paris.");
    const calls = responsesCalls(from);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.body).toMatchObject({ model: "grok-4.1", stream: true, store: false });
    // Codex asks for nothing else of a custom provider (no GET /models): model metadata cannot come from the proxy.
    expect(proxy.requests.slice(from).map((q) => `${q.method} ${q.url}`)).toEqual(["POST /v1/responses"]);
    expect(r.stderr).not.toMatch(/ERROR|stream disconnected|error sending request/i);
  }, 120_000);

  it("runs a tool round: exec_command writes a file, then answers after the function_call_output", async () => {
    stack.fake.reset();
    const from = proxy.requests.length;
    const prompts: string[] = [];
    stack.fake.respond((p) => {
      if (!p.includes("Create hello.txt")) return undefined;
      prompts.push(p);
      if (/\[tool result for [^\]]*\(exec_command\)\]/.test(p)) return "I created hello.txt for you.";
      if (!p.includes("## exec_command")) return "no exec_command tool was offered";
      const call = { name: "exec_command", arguments: { cmd: "printf 'hello from grok\\n' > hello.txt && cat hello.txt" } };
      // With reasoning, so Codex gets a reasoning item (summary + encrypted_content) to send back.
      return { name: "thinking", reasoning: "The user wants a file; exec_command can write it.", text: `I'll create the file.\n<tool_calls>\n<tool_call>${JSON.stringify(call)}</tool_call>\n</tool_calls>` };
    });
    const r = await runCodex("Create hello.txt containing a greeting.");
    expect(r.code, r.stderr).toBe(0);
    expect(r.last.trim()).toBe("I created hello.txt for you.");
    const file = path.join(work, "hello.txt");
    expect(existsSync(file)).toBe(true);
    expect(readFileSync(file, "utf8")).toBe("hello from grok\n");

    // Two turns: the second resends the history with the call Codex ran and its output.
    const calls = responsesCalls(from);
    expect(calls).toHaveLength(2);
    const items = calls[1]!.body!.input as Obj[];
    const fc = items.find((i) => i.type === "function_call");
    const out = items.find((i) => i.type === "function_call_output");
    expect(fc).toMatchObject({ name: "exec_command" });
    expect(JSON.parse(fc!.arguments)).toEqual({ cmd: "printf 'hello from grok\\n' > hello.txt && cat hello.txt" });
    expect(out!.call_id).toBe(fc!.call_id);
    expect(JSON.stringify(out!.output)).toContain("hello from grok");
    expect(prompts).toHaveLength(2);
    expect(prompts[1]).toContain(`[tool result for ${fc!.call_id} (exec_command)]`);
    // The reasoning item came back with the encrypted_content this proxy gave out; it is not re-read.
    const reasoning = items.find((i) => i.type === "reasoning");
    expect(decodeReasoningBlob(reasoning?.encrypted_content)).toMatchObject({ text: "The user wants a file; exec_command can write it." });
    expect(prompts[1]).not.toContain("The user wants a file");
    saveOrCompare(TOOL_ROUND_FIXTURE, "codex exec -m grok-4.1, second turn of an exec_command round", calls[1]!);
    expect(parseResponsesRequest(calls[1]!.body).messages.some((m) => m.role === "tool")).toBe(true);
  }, 120_000);

  it("runs a custom-tool round: apply_patch (freeform) adds a file, answered as a custom_tool_call", async () => {
    stack.fake.reset();
    const from = proxy.requests.length;
    const patch = "*** Begin Patch\n*** Add File: notes.txt\n+patched by grok\n*** End Patch\n";
    stack.fake.respond((p) => {
      if (!p.includes("Add notes.txt")) return undefined;
      if (/\[tool (result|error) for [^\]]*\(apply_patch\)\]/.test(p)) return "Added notes.txt.";
      if (!p.includes("## apply_patch")) return "no apply_patch tool was offered";
      return `<tool_calls>\n<tool_call>${JSON.stringify({ name: "apply_patch", arguments: { input: patch } })}</tool_call>\n</tool_calls>`;
    });
    const r = await runCodex("Add notes.txt with a note.", { model: "gpt-5.5" });
    expect(r.code, r.stderr).toBe(0);
    expect(r.last.trim()).toBe("Added notes.txt.");
    expect(readFileSync(path.join(work, "notes.txt"), "utf8")).toBe("patched by grok\n");
    expect(r.stderr).not.toContain("Model metadata"); // a model Codex knows: no fallback-metadata warning (docs/responses.md)
    const calls = responsesCalls(from);
    expect(calls).toHaveLength(2);
    const items = calls[1]!.body!.input as Obj[];
    const call = items.find((i) => i.type === "custom_tool_call");
    expect(call).toMatchObject({ name: "apply_patch", input: patch });
    expect(items.find((i) => i.type === "custom_tool_call_output")?.call_id).toBe(call!.call_id);
  }, 120_000);

  it("a captured first turn with namespace, custom and web_search tools is accepted whole (fixture)", async () => {
    stack.fake.reset();
    const from = proxy.requests.length;
    stack.fake.respond((p) => (p.includes("Say hello") ? "Hello!" : undefined));
    // gpt-5.5 is a model Codex knows: it offers apply_patch as a freeform (custom) tool and
    // tool_search; multi_agent_v2 adds a namespace. model_map sends gpt-* to grok-chat-fast.
    const r = await runCodex("Say hello.", { model: "gpt-5.5", extra: ["--enable", "multi_agent_v2"] });
    expect(r.code, r.stderr).toBe(0);
    expect(r.last.trim()).toBe("Hello!");
    const calls = responsesCalls(from);
    expect(calls).toHaveLength(1);
    const captured = calls[0]!;
    const body = captured.body!;
    const toolTypes = new Set((body.tools as Obj[]).map((t) => t.type));
    for (const t of ["function", "namespace", "custom", "web_search"]) expect(toolTypes).toContain(t);
    expect(body).toMatchObject({ store: false, stream: true, include: ["reasoning.encrypted_content"] });
    expect((body.input as Obj[]).some((i) => i.role === "developer")).toBe(true);

    const turn = parseResponsesRequest(body);
    const offered = turn.tools.map((t) => t.name);
    expect(offered).toContain("apply_patch");
    expect(offered.some((n) => n.includes("__"))).toBe(true);
    expect(turn.tools.find((t) => t.name === "apply_patch")!.freeform).toBe(true);
    expect(responsesOptions(turn).store).toBe(false);

    const stored = saveOrCompare(CODEX_FIXTURE, "codex exec -m gpt-5.5 --enable multi_agent_v2", captured);
    expect(lastUserText(stored.body)).toContain("Say hello.");
  }, 120_000);
});

/**
 * Writes the captured request as a fixture when it is missing (or UPDATE_FIXTURES=1), else checks
 * that the stored one still describes what this Codex sends: the same body keys, tool set and item kinds.
 */
function saveOrCompare(file: string, how: string, captured: Recorded): { body: Obj } {
  const { authorization: _auth, host: _host, "content-length": _len, ...headers } = captured.headers;
  const fixture = { captured: `codex-cli ${CODEX_VERSION}: ${how}, custom provider wire_api="responses", through a recording proxy`, method: captured.method, path: captured.url, headers, body: trimPrompt(captured.body!) };
  if (!existsSync(file) || process.env.UPDATE_FIXTURES === "1") {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, `${JSON.stringify(fixture, null, 1)}\n`);
  }
  const stored = JSON.parse(readFileSync(file, "utf8")) as typeof fixture;
  expect(Object.keys(stored.body).sort()).toEqual(Object.keys(fixture.body).sort());
  const tools = (b: Obj) => (b.tools as Obj[]).map((t) => `${t.type}:${t.name ?? ""}`).sort();
  expect(tools(stored.body)).toEqual(tools(fixture.body));
  const kinds = (b: Obj) => (b.input as Obj[]).map((i) => `${i.type}:${i.role ?? ""}`);
  expect(kinds(stored.body)).toEqual(kinds(fixture.body));
  return stored;
}

/** Cuts input texts so the whole body stays under MAX_FIXTURE_TEXT (a real prefix of each). */
function trimPrompt(body: Obj): Obj {
  if (JSON.stringify(body).length <= MAX_FIXTURE_TEXT) return body;
  const copy = structuredClone(body);
  for (const item of copy.input as Obj[]) {
    for (const c of Array.isArray(item.content) ? item.content : []) {
      if (typeof c.text === "string" && c.text.length > 4000) c.text = `${c.text.slice(0, 4000)}\n[… trimmed for the fixture]`;
    }
  }
  return copy;
}
