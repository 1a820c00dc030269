import { createServer, type Server } from "node:http";
import { createServer as netServer } from "node:net";
import { describe, expect, it } from "vitest";
import { PAUSED_BODY, installPauseGate, isClientApiPath } from "../../src/main/pause-gate.js";
import { listenWithFallback } from "../../src/main/port.js";
import { createGatewayRelay, type BrowserSocket, type RelayEvent } from "../../src/preload/gateway-relay.js";

async function taken(): Promise<{ port: number; close(): Promise<void> }> {
  const s = netServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  return { port: (s.address() as { port: number }).port, close: () => new Promise((r) => s.close(() => r())) };
}

describe("port fallback", () => {
  it("uses the port when free, else the next free one; gives up after `tries`", async () => {
    const a = await taken();
    const server = createServer();
    try {
      const port = await listenWithFallback(server, "127.0.0.1", a.port, 5);
      expect(port).toBeGreaterThan(a.port);
      expect(port).toBeLessThan(a.port + 5);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
      await a.close();
    }
    const b = await taken();
    const s2 = createServer();
    try {
      await expect(listenWithFallback(s2, "127.0.0.1", b.port, 1)).rejects.toMatchObject({ code: "EADDRINUSE" });
      expect(s2.listening).toBe(false);
    } finally {
      await b.close();
    }
  });

  it("other listen errors are not retried", async () => {
    await expect(listenWithFallback(createServer(), "203.0.113.1", 18_000, 3)).rejects.toMatchObject({ code: "EADDRNOTAVAIL" });
  });
});

describe("pause gate", () => {
  it("refuses the client API while paused, lets everything else (and preflights) through", async () => {
    let paused = false;
    const server: Server = createServer((_req, res) => res.end("inner"));
    installPauseGate(server, () => paused);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      expect(await (await fetch(`${url}/v1/models`)).text()).toBe("inner");
      paused = true;
      const r = await fetch(`${url}/v1/chat/completions`, { method: "POST", body: "{}" });
      expect([r.status, r.headers.get("retry-after")]).toEqual([503, "30"]);
      expect(await r.json()).toEqual(PAUSED_BODY);
      expect((await fetch(`${url}/messages`, { method: "POST", body: "{}" })).status).toBe(503);
      expect((await fetch(`${url}/v1/models`, { method: "OPTIONS" })).status).toBe(200);
      for (const open of ["/health", "/manage", "/login", "/api/stats", "/static/manager/assets/x.js", "/images/abc.png", "/videos/clip.mp4"]) expect(await (await fetch(url + open)).text(), open).toBe("inner");
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it("knows the client API paths, with and without /v1", () => {
    for (const p of ["/v1/models", "/models", "/v1/chat/completions?x=1", "/v1/messages/count_tokens", "/responses/abc", "/v1/audio/speech", "/v1/images/generations", "/images/edits", "/v1/videos", "/videos", "/videos/video_123", "/videos/video_123/content", "/v1/videos/abc.mp4"]) expect(isClientApiPath(p), p).toBe(true);
    for (const p of ["/", "/health", "/api/tokens", "/manage", "/v1", "/modelsx", "/images/x.png", "/videos/clip.mp4", "/images/generationsx"]) expect(isClientApiPath(p), p).toBe(false);
  });
});

describe("gateway page relay (the hidden page's preload logic)", () => {
  class StubSocket implements BrowserSocket {
    readyState = 0;
    binaryType = "blob";
    sent: string[] = [];
    closedWith: number | null = null;
    onopen: ((ev: unknown) => void) | null = null;
    onmessage: ((ev: { data: unknown }) => void) | null = null;
    onerror: ((ev: unknown) => void) | null = null;
    onclose: ((ev: { code: number; reason: string }) => void) | null = null;
    constructor(readonly url: string) {}
    send(d: string) {
      this.sent.push(d);
    }
    close(code?: number) {
      this.closedWith = code ?? null;
    }
  }
  it("opens only ws(s) URLs, relays text frames only, forwards sends once open, clamps close codes", () => {
    const made: StubSocket[] = [];
    const events: RelayEvent[] = [];
    const relay = createGatewayRelay((url) => (made.push(new StubSocket(url)), made.at(-1)!), (e) => events.push(e));
    relay.command({ op: "open", id: "x", url: "https://grok.com/" });
    relay.command({ op: "open", id: "x", url: "javascript:alert(1)" });
    relay.command("garbage");
    relay.command(null);
    expect(made).toHaveLength(0);
    relay.command({ op: "open", id: "a", url: "wss://grok.com/ws/mgw/?uid=1" });
    const s = made[0]!;
    expect(s.binaryType).toBe("arraybuffer");
    relay.command({ op: "send", id: "a", data: "early" }); // not open yet: dropped (main never sends before open)
    s.readyState = 1;
    s.onopen!({});
    s.onmessage!({ data: "frame" });
    s.onmessage!({ data: new ArrayBuffer(2) });
    relay.command({ op: "send", id: "a", data: "hello" });
    relay.command({ op: "close", id: "a", code: 1006 });
    expect(s.sent).toEqual(["hello"]);
    expect(s.closedWith).toBe(1000);
    s.onclose!({ code: 1000, reason: "" });
    expect(events).toEqual([
      { id: "a", type: "open" },
      { id: "a", type: "message", data: "frame" },
      { id: "a", type: "close", code: 1000, reason: "" },
    ]);
    expect(relay.size).toBe(0);
  });
});

describe("gateway pages", () => {
  it("accept events only from the hidden page of that partition, and pages are sandboxed and hidden", async () => {
    const { FakePlatform } = await import("./fake-platform.js");
    const { GatewayPages } = await import("../../src/main/transport/gateway-pages.js");
    const { GATEWAY_EVENT_CHANNEL } = await import("../../src/preload/gateway-relay.js");
    const p = new FakePlatform();
    const seen: Array<[string, unknown]> = [];
    const pages = new GatewayPages(p, "/app/out/preload/gateway.cjs", (partition, ev) => seen.push([partition, ev]));
    const page = await pages.page("grok2api-upstream-abc", "https://grok.com", "UA/1");
    const w = p.windowsOf("gateway")[0]!;
    expect(w.spec).toMatchObject({ show: false, webPreferences: { sandbox: true, contextIsolation: true, nodeIntegration: false, partition: "grok2api-upstream-abc", preload: "/app/out/preload/gateway.cjs" } });
    expect(w.loads).toEqual(["https://grok.com/robots.txt"]);
    expect(p.session("grok2api-upstream-abc").getUserAgent()).toBe("UA/1");
    expect(w.navGuard!("https://evil.example/")).toBe("deny");
    page.send({ op: "open", id: "gw1", url: "wss://grok.com/ws/mgw/?uid=u" });
    expect(w.sent).toEqual([{ channel: "grok2api:gateway-command", payload: { op: "open", id: "gw1", url: "wss://grok.com/ws/mgw/?uid=u" } }]);
    const ev = { id: "gw1", type: "open" };
    p.ipc.send(GATEWAY_EVENT_CHANNEL, { webContentsId: 999, frameUrl: "https://grok.com/robots.txt", mainFrame: true }, ev);
    p.ipc.send(GATEWAY_EVENT_CHANNEL, { webContentsId: w.webContentsId, frameUrl: "https://grok.com/x", mainFrame: false }, ev);
    p.ipc.send(GATEWAY_EVENT_CHANNEL, { webContentsId: w.webContentsId, frameUrl: "https://grok.com/robots.txt", mainFrame: true }, "not an event");
    expect(seen).toEqual([]);
    p.ipc.send(GATEWAY_EVENT_CHANNEL, { webContentsId: w.webContentsId, frameUrl: "https://grok.com/robots.txt", mainFrame: true }, ev);
    expect(seen).toEqual([["grok2api-upstream-abc", ev]]);
    expect(await pages.page("grok2api-upstream-abc", "https://grok.com", undefined)).toBe(page); // one page per partition
    pages.closeAll();
    expect(w.destroyed).toBe(true);
  });
});
