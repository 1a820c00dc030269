import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_TEXT, type ScenarioName } from "../fake-grok/index.js";
import { startStack, waitFor, type Stack } from "../support/stack.js";

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ accounts: 2, settings: { stream_first_response_timeout: 2, stream_chunk_timeout: 2 } });
});
afterAll(async () => stack?.close());

async function resetAccounts() {
  stack.fake.reset();
  for (const a of stack.accounts) {
    await stack.server.deps.pool.markHealthy(a.sso, [{ mode: "fast", remaining: 30, total: 30, windowSeconds: 86400, resetAt: null }]);
  }
}

const ask = () => stack.openai.chat.completions.create({ model: "grok-chat-fast", messages: [{ role: "user", content: "hello" }] });
const firstAccount = () => stack.fake.chatRequests()[0]!.account!;
const view = (sso: string) => stack.server.deps.pool.get(sso)!;

interface Case {
  scenario: ScenarioName;
  transports: Array<"gateway" | "rest">;
  /** How the first account must end. */
  expect: (v: ReturnType<typeof view>) => void;
}

const stays = (v: ReturnType<typeof view>) => {
  expect(v.status).toBe("active");
  expect(v.usable).toBe(true);
};
/**
 * Charged with a rate limit. (Whether it is still unusable when this runs depends on a quota sync
 * that may already have read the fake's unchanged quota: its rate-limit scenarios do not spend it.)
 */
const rateLimited = (v: ReturnType<typeof view>) => expect(v.failures.at(-1)?.kind).toBe("rate_limited");
const CASES: Case[] = [
  { scenario: "http-429", transports: ["gateway", "rest"], expect: rateLimited },
  { scenario: "in-stream-rate-limit", transports: ["gateway", "rest"], expect: rateLimited },
  { scenario: "usage-limit", transports: ["gateway", "rest"], expect: rateLimited },
  { scenario: "http-401", transports: ["gateway", "rest"], expect: (v) => expect([v.status, v.statusReason]).toEqual(["dead", expect.stringMatching(/401|expired|logged out/i)]) },
  { scenario: "403-blocked", transports: ["gateway", "rest"], expect: (v) => expect([v.status, v.statusReason]).toEqual(["dead", expect.stringMatching(/banned|blocked/i)]) },
  { scenario: "403-html", transports: ["gateway", "rest"], expect: stays },
  { scenario: "403-empty", transports: ["rest"], expect: stays },
  { scenario: "403-json-code7", transports: ["gateway"], expect: stays },
  { scenario: "http-500", transports: ["gateway", "rest"], expect: (v) => expect(v.effectiveStatus).toBe("cooling") },
  { scenario: "empty-success", transports: ["gateway", "rest"], expect: (v) => expect(v.effectiveStatus).toBe("cooling") },
  { scenario: "dropped", transports: ["gateway", "rest"], expect: stays },
  { scenario: "session-ended", transports: ["gateway"], expect: stays },
  { scenario: "status-not-completed", transports: ["gateway"], expect: (v) => expect(v.effectiveStatus).toBe("cooling") },
  { scenario: "stalled", transports: ["gateway", "rest"], expect: (v) => expect(v.effectiveStatus).toBe("cooling") },
];

describe("failover: the request succeeds on another account and the failed one ends in the right state", () => {
  for (const c of CASES)
    for (const transport of c.transports)
      it(`${c.scenario} over ${transport}`, async () => {
        await resetAccounts();
        await stack.server.deps.settings.update({ grok: { chat_transport: transport } });
        stack.fake.queue("*", c.scenario);
        const r = await ask();
        expect(r.choices[0]!.message.content).toBe(DEFAULT_TEXT);
        const turns = stack.fake.chatRequests();
        const failed = firstAccount();
        expect(turns.some((t) => t.account !== failed)).toBe(true);
        c.expect(view(failed));
        const last = view(failed).failures.at(-1);
        if (c.scenario !== "http-401" && c.scenario !== "403-blocked") expect(last).toBeTruthy();
      });

  it("anti-bot on REST retries the same account once with a fresh statsig", async () => {
    await resetAccounts();
    await stack.server.deps.settings.update({ grok: { chat_transport: "rest" } });
    stack.fake.queue("*", "403-json-code7");
    const r = await ask();
    expect(r.choices[0]!.message.content).toBe(DEFAULT_TEXT);
    const turns = stack.fake.chatRequests();
    expect(turns).toHaveLength(2);
    expect(turns[0]!.account).toBe(turns[1]!.account);
    expect(turns[0]!.headers["x-statsig-id"]).not.toBe(turns[1]!.headers["x-statsig-id"]);
    stays(view(turns[0]!.account!));
  });
});

describe("when no account can serve", () => {
  let single: Stack;
  beforeAll(async () => {
    single = await startStack({ accounts: 1, settings: { chat_transport: "gateway", stream_first_response_timeout: 2, stream_chunk_timeout: 1 } });
  });
  afterAll(async () => single?.close());
  const askSingle = (stream = false) => single.openai.chat.completions.create({ model: "grok-chat-fast", messages: [{ role: "user", content: "hi" }], stream: stream as false });

  it("a rate limit becomes 429 with Retry-After, and the next call says when accounts free up", async () => {
    single.fake.queue("*", { name: "http-429", retryAfterSeconds: 120 });
    const err = await askSingle().catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(Number(err.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(err.message).toMatch(/rate-limited/);
    const again = await askSingle().catch((e) => e);
    expect(again).toBeInstanceOf(OpenAI.RateLimitError);
    expect(again.message).toMatch(/cooling down or out of quota until \d{4}-/);
    expect(single.fake.chatRequests()).toHaveLength(1); // the second call never reached grok.com
    await single.server.deps.pool.markHealthy(single.accounts[0]!.sso);
  });

  it("Cloudflare blocks are a 403 naming cf_clearance and proxy_url, without blaming the account", async () => {
    single.fake.reset();
    single.fake.queue("*", "403-html");
    const err = await askSingle().catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(err.message).toMatch(/cf_clearance/);
    expect(err.message).toMatch(/proxy_url/);
    expect(single.server.deps.pool.get(single.accounts[0]!.sso)!.status).toBe("active");
  });

  it("an idle upstream after output began ends the stream with an in-band error", async () => {
    single.fake.reset();
    single.fake.queue("*", "stalled-after-first");
    const stream = await askSingle(true);
    const seen: string[] = [];
    const err = await (async () => {
      for await (const c of stream as unknown as AsyncIterable<{ choices: Array<{ delta: { content?: string } }> }>) seen.push(c.choices[0]?.delta.content ?? "");
    })().catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(String(err.message)).toMatch(/stream_chunk_timeout/);
    expect(seen.join("")).not.toBe("");
    await single.server.deps.pool.markHealthy(single.accounts[0]!.sso);
  });

  it("a dead cookie is a 403 that SDKs do not retry", async () => {
    single.fake.reset();
    single.fake.queue("*", "http-401");
    const res = await fetch(`${single.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "grok-chat-fast", messages: [{ role: "user", content: "hi" }] }) });
    expect(res.status).toBe(403);
    expect(res.headers.get("x-should-retry")).toBe("false");
    const next = await fetch(`${single.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "grok-chat-fast", messages: [{ role: "user", content: "hi" }] }) });
    expect(next.status).toBe(403);
    expect(((await next.json()) as { error: { message: string } }).error.message).toMatch(/dead or disabled/);
    await single.server.deps.pool.markHealthy(single.accounts[0]!.sso);
  });

  it("a model above every account's tier is a 403", async () => {
    const err = await single.openai.chat.completions.create({ model: "grok-chat-heavy", messages: [{ role: "user", content: "hi" }] }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(err.message).toMatch(/heavy/);
  });

  it("a client abort cancels the upstream call at once and the proxy serves the next request", async () => {
    single.fake.reset();
    single.fake.queue("*", "stalled");
    const ctrl = new AbortController();
    const pending = single.openai.chat.completions.create({ model: "grok-chat-fast", messages: [{ role: "user", content: "hi" }], stream: true }, { signal: ctrl.signal }).catch((e) => e);
    await waitFor(() => single.fake.openConnections() > 0);
    ctrl.abort();
    await pending;
    await waitFor(() => single.fake.openConnections() === 0, 2000);
    expect(single.server.deps.pool.get(single.accounts[0]!.sso)!.inFlight).toBe(0);
    const r = await askSingle();
    expect(r.choices[0]!.message.content).toBe(DEFAULT_TEXT);
  });
});
