import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { grokSchema, type GrokSettings } from "../../src/server/config/settings-schema.js";
import type { GrokEvent } from "../../src/server/core/events.js";
import type { GrokChatRequest } from "../../src/server/grok/chat-request.js";
import { GrokClient } from "../../src/server/grok/client.js";
import { GATEWAY_BUFFER } from "../../src/server/grok/gateway-chat.js";
import { createLogger } from "../../src/server/log.js";
import { startFakeGrok, type FakeGrok } from "../fake-grok/index.js";

/**
 * A slow reader of a long answer must not make the proxy buffer the whole answer: on the gateway
 * the frame buffer stays near GATEWAY_BUFFER because the socket stops reading; on REST the body is
 * pulled only as fast as events are consumed. Either way the answer still arrives whole.
 */
let fake: FakeGrok;
beforeAll(async () => {
  fake = await startFakeGrok();
});
afterAll(async () => fake?.close());

const words = (n: number) => Array.from({ length: n }, (_, i) => ` w${i}`).join("").trimStart();
const request: GrokChatRequest = {
  mode: "fast",
  message: "tell me a long story",
  fileIds: [],
  temporary: true,
  disableSearch: true,
  enableImageGeneration: false,
  imageGenerationCount: 0,
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function client(settings: Partial<GrokSettings>, transport: "impit" | "fetch" = "impit"): GrokClient {
  const s = grokSchema.parse(settings);
  return new GrokClient({ upstreamUrl: fake.url, assetsUrl: fake.assetsUrl, transport, settings: () => s, log: createLogger("silent") });
}

/** A turn of a fresh account whose answer is `text`. */
function turn(grok: GrokClient, text: string, signal = new AbortController().signal): AsyncGenerator<GrokEvent> {
  const acc = fake.addAccount({ tier: "super" });
  fake.queue(acc.sso, { name: "text", text });
  return grok.chat(request, { token: acc.sso, userId: acc.userId }, signal);
}

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(10)) if (cond()) return true;
  return cond();
}

describe("gateway backpressure", () => {
  it("a slow reader keeps the frame buffer bounded, and the answer arrives whole", async () => {
    const text = words(4000); // one frame per word: far more frames than the high-water mark
    const grok = client({ chat_transport: "gateway" });
    let got = "";
    let last: GrokEvent | undefined;
    let n = 0;
    for await (const e of turn(grok, text)) {
      last = e;
      if (e.type === "text") got += e.text;
      if (n++ === 0) await sleep(400); // the whole answer is sent meanwhile
      else if (n % 200 === 0) await sleep(20);
    }
    expect(last).toMatchObject({ type: "done", status: "completed" });
    expect(got).toBe(text);
    const stats = grok.gatewayBufferStats;
    expect(stats.pauses).toBeGreaterThan(0);
    // Above the marks only by the rest of the socket read that crossed them (≤ 64 KiB; frames here are > 100 bytes).
    expect(stats.peakFrames).toBeLessThanOrEqual(GATEWAY_BUFFER.highWaterFrames + (64 * 1024) / 100);
    expect(stats.peakBytes).toBeLessThanOrEqual(GATEWAY_BUFFER.highWaterBytes + 64 * 1024);
  });

  it("a reader that stops while reading is paused still closes the connection at once", async () => {
    // The proxy's own socket, not just the fake's end: a paused socket would not read grok.com's
    // close frame and would linger until ws's 30 s close timeout.
    const sockets = () => process.getActiveResourcesInfo().filter((r) => r === "TCPSocketWrap").length;
    expect(await until(() => fake.openConnections() === 0, 2000)).toBe(true);
    const before = sockets();
    const grok = client({ chat_transport: "gateway" });
    const events = turn(grok, words(4000));
    while ((await events.next()).value?.type !== "text");
    await sleep(300); // paused by now
    await events.return(undefined);
    expect(grok.gatewayBufferStats.pauses).toBeGreaterThan(0);
    expect(await until(() => fake.openConnections() === 0 && sockets() === before, 2000)).toBe(true);
  });
});

describe("REST backpressure", () => {
  for (const transport of ["impit", "fetch"] as const) {
    it(`${transport}: a stalled reader holds back the upstream body instead of buffering it`, async () => {
      expect(await until(() => fake.openConnections() === 0, 2000)).toBe(true);
      const ctrl = new AbortController();
      const events = turn(client({ chat_transport: "rest" }, transport), words(200_000), ctrl.signal); // ~35 MB of NDJSON, beyond any socket buffers
      expect((await events.next()).done).toBe(false);
      await sleep(1000);
      // The fake is still writing its response: the proxy has not read the body ahead of its reader.
      expect(fake.openConnections()).toBe(1);
      ctrl.abort();
      await events.return(undefined).catch(() => {});
    });
  }
});
