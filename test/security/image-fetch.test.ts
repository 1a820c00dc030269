import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FETCH_DEADLINE_MS } from "../../src/server/media/fetch-image.js";
import { startStack, waitFor, type Stack } from "../support/stack.js";
import { chatWithImage, JSON_HEADERS, raw, startTarget, type Target } from "./support.js";

/**
 * Client-supplied image URLs (issue 6) against local target servers on 127.0.0.1 and [::1].
 * Every URL here names this machine's loopback, so nothing leaves it even if a guard failed;
 * the cases that would reach private ranges run in test/security/netns.test.ts.
 */
let stack: Stack;
let v4: Target;
let v6: Target;
beforeAll(async () => {
  stack = await startStack({ accounts: 1 });
  v4 = await startTarget("127.0.0.1");
  v6 = await startTarget("::1");
});
afterAll(async () => {
  await v4?.close();
  await v6?.close();
  await stack?.close();
});

const send = (url: string) => raw(stack.url, "/v1/chat/completions", { headers: JSON_HEADERS, body: chatWithImage(url) });
const uploads = () => stack.fake.requests.filter((q) => q.path === "/http/upload-file-v2/direct").length;
const allowPrivate = (on: boolean) => stack.server.deps.settings.update({ grok: { image_url_allow_private: on } });

describe("image URLs naming loopback", () => {
  it("are refused in every spelling, before any connection", async () => {
    const p4 = new URL(v4.url).port;
    const p6 = new URL(v6.url).port;
    const urls = [
      `http://127.0.0.1:${p4}/img.png`,
      `http://127.1:${p4}/img.png`,
      `http://2130706433:${p4}/img.png`,
      `http://0x7f000001:${p4}/img.png`,
      `http://0.0.0.0:${p4}/img.png`,
      `http://[::ffff:127.0.0.1]:${p4}/img.png`,
      `http://[::ffff:7f00:1]:${p4}/img.png`,
      `http://[0:0:0:0:0:ffff:127.0.0.1]:${p4}/img.png`,
      `http://[::1]:${p6}/img.png`,
      `http://localhost:${p4}/img.png`,
      `http://localhost:${p6}/img.png`,
      `https://localhost:${p4}/img.png`,
    ];
    for (const url of urls) {
      const res = await send(url);
      expect(res.status, url).toBe(400);
      expect(res.json.error.message, url).toMatch(/^messages\[0\]\.content\[1\]\.image_url\.url: /);
      expect(res.json.error.message, url).not.toMatch(/127\.0\.0\.1|::1|7f00|resolves|ECONNREFUSED/);
    }
    expect(v4.hits).toEqual([]);
    expect(v6.hits).toEqual([]);
    expect(uploads()).toBe(0);
  });

  it("get one answer whether the port is open or closed", async () => {
    const closed = await startTarget("127.0.0.1");
    const closedPort = new URL(closed.url).port;
    await closed.close();
    const a = await send(`http://localhost:${new URL(v4.url).port}/img.png`);
    const b = await send(`http://localhost:${closedPort}/img.png`);
    expect([a.status, b.status]).toEqual([400, 400]);
    expect(a.json.error.message).toBe(b.json.error.message);
  });
});

describe("with image_url_allow_private on", () => {
  beforeAll(() => allowPrivate(true));
  afterAll(() => allowPrivate(false));

  it("fetches the image and uploads it", async () => {
    const before = uploads();
    const res = await send(`${v4.url}/img.png`);
    expect(res.status).toBe(200);
    expect(uploads()).toBe(before + 1);
    expect((await send(`${v6.url}/img.png`)).status).toBe(200);
  });

  it("follows at most 5 redirects and only to http(s)", async () => {
    expect((await send(`${v4.url}/chain?n=4`)).status).toBe(200); // 5 redirects
    const six = await send(`${v4.url}/chain?n=5`);
    expect(six.status).toBe(400);
    expect(six.json.error.message).toMatch(/more than 5 redirects/);
    const ftp = await send(`${v4.url}/redirect?to=${encodeURIComponent("ftp://127.0.0.1/x.png")}`);
    expect(ftp.status).toBe(400);
    expect(ftp.json.error.message).toMatch(/only http and https/);
    const text = await send(`${v4.url}/text`);
    expect(text.json.error.message).toMatch(/did not return a PNG/);
  });

  it("gives up on a slow-drip server at the overall deadline", async () => {
    const closedBefore = v4.closedSockets;
    const t0 = Date.now();
    const res = await send(`${v4.url}/drip`);
    const ms = Date.now() - t0;
    expect(res.status).toBe(400);
    expect(res.json.error.message).toBe("messages[0].content[1].image_url.url: the image could not be fetched");
    expect(res.json.error.param).toBe("messages[0].content[1].image_url.url");
    expect(ms).toBeGreaterThanOrEqual(FETCH_DEADLINE_MS - 500);
    expect(ms).toBeLessThan(FETCH_DEADLINE_MS + 5_000);
    await waitFor(() => v4.closedSockets > closedBefore, 3_000);
  }, FETCH_DEADLINE_MS + 15_000);

  it.each([false, true])("stops the download when the client goes away (stream: %s)", async (stream) => {
    const closedBefore = v4.closedSockets;
    const hitsBefore = v4.hits.length;
    const u = new URL(stack.url);
    const req = request({ host: "127.0.0.1", port: u.port, path: "/v1/chat/completions", method: "POST", headers: JSON_HEADERS });
    req.on("error", () => {});
    const body = JSON.parse(chatWithImage(`${v4.url}/drip`));
    req.end(JSON.stringify({ ...body, stream }));
    await waitFor(() => v4.hits.length > hitsBefore, 5_000); // the drip has started
    const t0 = Date.now();
    req.destroy();
    await waitFor(() => v4.closedSockets > closedBefore, 5_000);
    expect(Date.now() - t0).toBeLessThan(5_000);
  });
});

describe("image data in chat", () => {
  it("an oversize data: image or a wrong type is a 400 naming the part, nothing uploaded", async () => {
    const before = uploads();
    const png = Buffer.from("89504e470d0a1a0a0000000d49484452", "hex");
    const big = Buffer.concat([png, Buffer.alloc(33 * 1024 * 1024)]).toString("base64");
    const res = await raw(stack.url, "/v1/chat/completions", { headers: JSON_HEADERS, body: chatWithImage(`data:image/png;base64,${big}`) });
    expect(res.status).toBe(400);
    expect(res.json.error.param).toBe("messages[0].content[1].image_url.url");
    expect(res.json.error.message).toMatch(/larger than 32 MiB/);
    const gif = Buffer.from("GIF89a").toString("base64");
    const wrong = await raw(stack.url, "/v1/chat/completions", { headers: JSON_HEADERS, body: chatWithImage(`data:image/png;base64,${gif}`) });
    expect(wrong.status).toBe(400);
    expect(wrong.json.error.param).toBe("messages[0].content[1].image_url.url");
    expect(uploads()).toBe(before);
  });
});
