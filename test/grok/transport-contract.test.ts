/**
 * Every upstream transport passes the same contract (transport-contract.ts): the server's impit
 * and fetch, and the desktop app's Chromium transport through a stub of its Electron session
 * (Node's fetch standing in for session.fetch). The gateway WebSocket likewise: `ws`, and the
 * app's hidden-page relay with `ws` standing in for the page's browser WebSocket.
 */
import { describe, expect, it } from "vitest";
import { ChromiumTransport, mergeCloudflareCookies } from "../../src/main/transport/chromium-http.js";
import { PageGateway, type PageEvent } from "../../src/main/transport/page-gateway.js";
import { ANONYMOUS_PARTITION, PartitionMap, memoryPartition, ssoOfCookieHeader, tokenKey } from "../../src/main/transport/partitions.js";
import { createGatewayRelay } from "../../src/preload/gateway-relay.js";
import { wsGatewaySocket } from "../../src/server/grok/gateway-socket.js";
import { FetchTransport, createTransport } from "../../src/server/grok/transport.js";
import { FakeSession } from "../main/fake-platform.js";
import { browserSocket } from "../main/fake-gateway-page.js";
import { gatewaySocketContract, startContractServer, transportContract } from "./transport-contract.js";

const UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/136.0.0.0 Safari/537.36";

function stubSessions() {
  const sessions = new Map<string, FakeSession>();
  const get = (p: string) => {
    let s = sessions.get(p);
    if (!s) sessions.set(p, (s = new FakeSession(p)));
    return s;
  };
  return { sessions, get };
}

function chromium(signedIn: Record<string, string> = {}) {
  const { sessions, get } = stubSessions();
  const map = new PartitionMap(() => signedIn);
  return { transport: new ChromiumTransport(get, (t) => map.forToken(t)), sessions, get };
}

transportContract("fetch", async () => ({ transport: new FetchTransport() }));
transportContract("impit", async () => ({ transport: createTransport("impit", () => UA) }), {
  abortKeepsConnection: "impit 0.14.4 drops a connection aborted during a pending read only when its native response is garbage-collected",
});
transportContract("chromium (stubbed Electron session)", async () => ({ transport: chromium().transport }));

gatewaySocketContract("ws (the server's default)", async () => ({ factory: wsGatewaySocket }));
gatewaySocketContract("chromium hidden-page relay (stubbed page)", async () => {
  const { get } = stubSessions();
  const map = new PartitionMap(() => ({}));
  let gateway!: PageGateway;
  gateway = new PageGateway({
    page: async (partition, origin, ua) => {
      const s = get(partition);
      if (ua) s.setUserAgent(ua);
      const relay = createGatewayRelay((url) => browserSocket(url, origin, s), (ev) => gateway.onPageEvent(partition, structuredClone(ev) as PageEvent));
      return { send: (cmd) => relay.command(structuredClone(cmd)) };
    },
    cookies: (p) => get(p).cookies,
    setProxy: (p, u) => get(p).setProxy(u),
    probe: async (p, url) => {
      const r = await get(p).fetch(url, { method: "GET", redirect: "manual" });
      return { status: r.status, headers: r.headers, body: await r.text() };
    },
    partitionFor: (t) => map.forToken(t),
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  });
  return { factory: gateway.factory };
});

describe("chromium transport specifics", () => {
  it("each account gets its own partition (a signed-in one when known); requests without an account an anonymous one", async () => {
    const srv = await startContractServer();
    try {
      const signedIn = { [tokenKey("tok-b")]: "persist:grok2api-signin-b" };
      const { transport, sessions } = chromium(signedIn);
      await (await transport.request(`${srv.url}/echo`, { method: "GET", headers: { cookie: "sso=tok-a; sso-rw=tok-a" } })).text();
      await (await transport.request(`${srv.url}/echo`, { method: "GET", headers: { cookie: "sso=tok-b; sso-rw=tok-b" } })).text();
      await (await transport.request(`${srv.url}/echo`, { method: "GET", headers: {} })).text();
      expect([...sessions.keys()]).toEqual([memoryPartition("tok-a"), "persist:grok2api-signin-b", ANONYMOUS_PARTITION]);
      expect(memoryPartition("tok-a")).not.toContain("tok-a"); // only a hash of the token
    } finally {
      await srv.close();
    }
  });

  it("the partition's Cloudflare cookies replace the configured ones; Chromium-owned headers are left to Chromium; no credentials from the jar", async () => {
    const srv = await startContractServer();
    try {
      const { transport, get } = chromium();
      const s = get(memoryPartition("tok-c"));
      s.cookies.put({ name: "cf_clearance", value: "from-browser", domain: "127.0.0.1", path: "/", secure: false, httpOnly: true });
      const res = await transport.request(`${srv.url}/echo`, { method: "GET", headers: { cookie: "sso=tok-c; sso-rw=tok-c; cf_clearance=configured", "accept-encoding": "gzip, deflate, br, zstd", connection: "keep-alive", "user-agent": UA } });
      const seen = JSON.parse(await res.text()) as { headers: Record<string, string> };
      expect(seen.headers.cookie).toBe("sso=tok-c; sso-rw=tok-c; cf_clearance=from-browser");
      expect(seen.headers["user-agent"]).toBe(UA);
      const init = s.fetches[0]!.init;
      expect(init).toMatchObject({ redirect: "manual", credentials: "omit" });
      expect(Object.keys(init.headers as Record<string, string>).map((k) => k.toLowerCase())).not.toContain("accept-encoding");
      expect(mergeCloudflareCookies("sso=a", [])).toBe("sso=a");
      expect(mergeCloudflareCookies(undefined, [{ name: "__cf_bm", value: "b" }])).toBe("__cf_bm=b");
    } finally {
      await srv.close();
    }
  });

  it("proxy_url becomes the partition's proxy (set once, changed when it changes); decoded bodies lose content-encoding", async () => {
    const srv = await startContractServer();
    try {
      const { transport, get } = chromium();
      const part = memoryPartition("tok-d");
      const calls: Array<string | undefined> = [];
      const s = get(part);
      const set = s.setProxy.bind(s);
      s.setProxy = async (u) => {
        calls.push(u);
        await set(u);
      };
      for (const proxyUrl of ["http://proxy:1", "http://proxy:1", undefined]) {
        s.fetchImpl = (url, init) => fetch(url.replace("http://unreachable.invalid", srv.url), init);
        const res = await transport.request(`${srv.url}/gzip`, { method: "GET", headers: { cookie: "sso=tok-d" }, ...(proxyUrl ? { proxyUrl } : {}) });
        expect(res.headers.get("content-encoding")).toBeNull();
        expect(JSON.parse(await res.text()).encoded).toBe("gzip");
      }
      expect(calls).toEqual(["http://proxy:1", undefined]);
    } finally {
      await srv.close();
    }
  });

  it("reads the sso of a Cookie header", () => {
    expect(ssoOfCookieHeader("sso-rw=x; sso=abc; x-userid=u")).toBe("abc");
    expect(ssoOfCookieHeader("sso-rw=x")).toBeNull();
    expect(ssoOfCookieHeader(undefined)).toBeNull();
  });
});
