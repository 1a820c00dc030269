import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startStack, waitFor, type Stack } from "../support/stack.js";

/**
 * A client that goes away during a non-stream request (chat, speech, image generation) cancels
 * the upstream call at once and frees the account: the abort follows the response closing, not
 * the request body ending (which happens as soon as the body was read).
 */
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ accounts: ["super"] });
});
afterAll(async () => stack?.close());
beforeEach(() => stack.fake.reset());

const cases: Array<[string, string, Record<string, unknown>]> = [
  ["chat (non-stream)", "/v1/chat/completions", { model: "grok-chat-fast", messages: [{ role: "user", content: "hi" }] }],
  ["speech", "/v1/audio/speech", { model: "tts-1", input: "Hello there", voice: "alloy", response_format: "wav" }],
  ["image generation", "/v1/images/generations", { model: "grok-imagine-image", prompt: "a moon", n: 1 }],
];

describe("client going away mid-request", () => {
  it.each(cases)("%s: the upstream call is cancelled and the lease released", async (_name, path, body) => {
    stack.fake.queue("*", "stalled");
    const ctrl = new AbortController();
    const pending = fetch(`${stack.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), signal: ctrl.signal }).catch((e: unknown) => e);
    const inFlight = () => stack.server.deps.pool.get(stack.accounts[0]!.sso)!.inFlight;
    await waitFor(() => stack.fake.openConnections() > 0, 5000);
    ctrl.abort();
    await pending;
    // without the fix the call stays open until stream_chunk_timeout (120 s); 5 s leaves room for a loaded machine
    await waitFor(() => stack.fake.openConnections() === 0, 5000);
    await waitFor(() => inFlight() === 0, 5000);
    // the account is not blamed for the client leaving
    const view = stack.server.deps.pool.get(stack.accounts[0]!.sso)!;
    expect(view.status).toBe("active");
    expect(view.failures).toEqual([]);
  });
});
