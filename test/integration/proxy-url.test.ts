import http from "node:http";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_TEXT } from "../fake-grok/index.js";
import { startStack, type Stack } from "../support/stack.js";

/** A minimal forward proxy on loopback: absolute-form HTTP requests and CONNECT tunnels, recorded. */
function startForwardProxy(): Promise<{ url: string; seen: string[]; close(): Promise<void> }> {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const target = new URL(req.url!);
    const up = http.request({ host: target.hostname, port: target.port, path: target.pathname + target.search, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  server.on("connect", (req, socket, head) => {
    seen.push(`CONNECT ${req.url}`);
    const [host, port] = req.url!.split(":");
    const up = net.connect(Number(port), host, () => {
      socket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    up.on("error", () => socket.destroy());
    socket.on("error", () => up.destroy());
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
        seen,
        close: () => new Promise<void>((r) => {
          server.closeAllConnections();
          server.close(() => r());
        }),
      }),
    ),
  );
}

describe.each(["impit", "fetch"] as const)("proxy_url with the %s transport", (transport) => {
  let stack: Stack;
  let proxy: Awaited<ReturnType<typeof startForwardProxy>>;
  beforeAll(async () => {
    proxy = await startForwardProxy();
    stack = await startStack({ accounts: 1, transport, settings: { proxy_url: proxy.url } });
  });
  afterAll(async () => {
    await stack?.close();
    await proxy?.close();
  });

  it("sends REST chat, session lookup and the gateway WebSocket through the proxy", async () => {
    const host = new URL(stack.fake.url).host;
    await stack.server.deps.settings.update({ grok: { chat_transport: "rest" } });
    const a = await stack.openai.chat.completions.create({ model: "grok-chat-fast", messages: [{ role: "user", content: "hi" }] });
    expect(a.choices[0]!.message.content).toBe(DEFAULT_TEXT);
    expect(proxy.seen.some((s) => s === `POST http://${host}/rest/app-chat/conversations/new` || s === `CONNECT ${host}`)).toBe(true);
    proxy.seen.length = 0;
    await stack.server.deps.settings.update({ grok: { chat_transport: "gateway" } });
    const b = await stack.openai.chat.completions.create({ model: "grok-chat-fast", messages: [{ role: "user", content: "hi" }] });
    expect(b.choices[0]!.message.content).toBe(DEFAULT_TEXT);
    expect(proxy.seen).toContain(`CONNECT ${host}`); // the WebSocket tunnels
    expect(stack.fake.chatRequests().length).toBe(2);
  });
});
