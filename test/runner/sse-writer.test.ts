/**
 * SseWriter against a real HTTP response whose client stops reading: once the socket (kernel
 * buffers included) is full, send() stays pending until 'drain', so the producer (the pipeline,
 * and through it the upstream read) is held and what waits in this process stays bounded; end()
 * sends what is buffered and ends the body. No timing asserted.
 */
import { createServer, type Server, type ServerResponse } from "node:http";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";

/** Until the body is complete: the chunked body's last chunk, or Content-Length bytes, arrived (or the connection ended). */
const bodyEnded = (client: net.Socket, received: () => string) =>
  new Promise<void>((resolve) => {
    const check = () => {
      const r = received();
      const head = r.indexOf("\r\n\r\n");
      const len = /content-length: (\d+)/i.exec(r.slice(0, head))?.[1];
      if (r.endsWith("\r\n0\r\n\r\n") || (head >= 0 && len !== undefined && r.length - head - 4 >= Number(len))) resolve();
    };
    client.on("data", check);
    client.once("end", () => resolve());
    check();
  });
import { SseWriter } from "../../src/server/runner/sse-writer.js";

let server: Server | null = null;
afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = null;
});

/** A server whose handler gets the response; a raw client socket that reads only when told. */
async function pair(): Promise<{ res: ServerResponse; client: net.Socket; received: () => string }> {
  let got!: (res: ServerResponse) => void;
  const resP = new Promise<ServerResponse>((r) => (got = r));
  server = createServer((_req, res) => got(res));
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as net.AddressInfo).port;
  const client = net.connect({ port, host: "127.0.0.1" });
  let data = "";
  client.on("data", (d) => (data += d.toString("latin1")));
  await new Promise<void>((r) => client.once("connect", () => r()));
  client.write("GET / HTTP/1.1\r\nhost: x\r\n\r\n");
  return { res: await resP, client, received: () => data };
}

describe("SseWriter", () => {
  it("holds the producer while the client does not read, then lets it go on once it does", async () => {
    const { res, client, received } = await pair();
    client.pause(); // the client reads nothing
    const sse = new SseWriter(res, { keepAliveMs: 60_000, keepAlive: () => ": keep-alive\n\n" });
    // events of 10 KB, each flushed on its own (the writer's coalescing window passes between
    // them), so its 64 KiB path never applies: only the socket's own backpressure can stop them
    const event = { choices: [{ delta: { content: "x".repeat(10_000) } }] };
    let sent = 0;
    let blocked = false;
    while (res.writableLength < 8 * 1024 * 1024) {
      const p = sse.send(event).then(() => "sent" as const);
      const first = await Promise.race([p, new Promise<"pending">((r) => setTimeout(() => r("pending"), 5))]);
      if (first === "pending") {
        blocked = true;
        break;
      }
      sent++;
    }
    expect(blocked).toBe(true);
    // what waits in this process is bounded: far less than what was produced until then would be unbounded
    expect(res.writableLength).toBeLessThan(256 * 1024);
    client.resume(); // the client reads again: the producer goes on
    await sse.send(event);
    sse.end();
    await bodyEnded(client, received);
    expect(received()).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(received()).toContain("content-type: text/event-stream");
    expect(received().match(/data: /g)!.length).toBe(sent + 2); // every event arrived once
    client.destroy();
  });

  it("sends the events and ends the body", async () => {
    const { res, client, received } = await pair();
    const sse = new SseWriter(res, { keepAliveMs: 60_000, keepAlive: () => ": keep-alive\n\n" });
    await sse.send({ a: 1 });
    await sse.send("[DONE]");
    sse.end();
    await bodyEnded(client, received);
    expect(received()).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(received()).toContain('data: {"a":1}\n\ndata: [DONE]\n\n');
    // a short answer leaves in one write, with a Content-Length; a longer one ends its chunked body
    expect(received()).toMatch(/content-length: 29\r\n|\r\n0\r\n\r\n$/i);
    client.destroy();
  });
});
