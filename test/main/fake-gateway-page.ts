/**
 * Plays the hidden gateway page of the desktop app in Node: a FakePlatform window of kind
 * "gateway" runs the page's relay (src/preload/gateway-relay.ts) with `ws` standing in for the
 * browser's WebSocket. Like a browser, that socket sends the partition's cookies, the session's
 * user agent and the page's Origin — nothing the caller chose.
 */
import WebSocket from "ws";
import { GATEWAY_COMMAND_CHANNEL, GATEWAY_EVENT_CHANNEL, createGatewayRelay, type BrowserSocket } from "../../src/preload/gateway-relay.js";
import type { WindowSpec } from "../../src/main/platform.js";
import type { FakePlatform, FakeSession, FakeWindow } from "./fake-platform.js";

export function browserSocket(url: string, origin: string, session: FakeSession): BrowserSocket {
  const host = new URL(url).hostname;
  const cookie = session.cookies.jar
    .filter((c) => host === c.domain.replace(/^\./, "") || host.endsWith(`.${c.domain.replace(/^\./, "")}`))
    .map((c) => `${c.name}=${c.value}`)
    .join("; ");
  return new WebSocket(url, { headers: { origin, "user-agent": session.getUserAgent(), ...(cookie ? { cookie } : {}) } }) as unknown as BrowserSocket;
}

export function simulateGatewayPages(p: FakePlatform): { pages: FakeWindow[] } {
  const pages: FakeWindow[] = [];
  const create = p.createWindow.bind(p);
  p.createWindow = (spec: WindowSpec) => {
    const w = create(spec) as FakeWindow;
    if (spec.kind !== "gateway") return w;
    pages.push(w);
    const session = p.session(spec.webPreferences.partition);
    const relay = createGatewayRelay(
      (url) => browserSocket(url, new URL(w.currentUrl()).origin, session),
      (ev) => p.ipc.send(GATEWAY_EVENT_CHANNEL, { webContentsId: w.webContentsId, frameUrl: w.currentUrl(), mainFrame: true }, ev),
    );
    const send = w.send.bind(w);
    w.send = (channel, payload) => {
      send(channel, payload);
      if (channel === GATEWAY_COMMAND_CHANNEL) relay.command(structuredClone(payload)); // IPC copies its payload
    };
    return w;
  };
  return { pages };
}
