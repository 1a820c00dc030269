/**
 * The hidden pages that hold gateway WebSockets (see page-gateway.ts): one per partition, a
 * sandboxed window that is never shown, on the upstream origin, closed after a while without
 * sockets. Events from a page are accepted only from the page of that partition.
 */
import { GATEWAY_COMMAND_CHANNEL, GATEWAY_EVENT_CHANNEL } from "../../preload/gateway-relay.js";
import type { Platform, WindowHandle } from "../platform.js";
import { guardWindow, hardenSession, secureWebPreferences } from "../windows.js";
import type { GatewayPage, PageEvent } from "./page-gateway.js";

/** The page loaded on the origin: small, and a document of that origin (its Origin header is the site's). */
export const GATEWAY_PAGE_PATH = "/robots.txt";

export class GatewayPages {
  private readonly pages = new Map<string, { win: WindowHandle; ready: Promise<GatewayPage>; origin: string }>();
  private listening = false;

  constructor(
    private readonly platform: Platform,
    private readonly preloadPath: string,
    private readonly onEvent: (partition: string, ev: PageEvent) => void,
  ) {}

  private listen(): void {
    if (this.listening) return;
    this.listening = true;
    this.platform.ipc.on(GATEWAY_EVENT_CHANNEL, (sender, args) => {
      const partition = this.partitionOf(sender.webContentsId);
      if (partition === null || !sender.mainFrame) return; // not one of our gateway pages
      const ev = args[0] as PageEvent | undefined;
      if (!ev || typeof ev !== "object" || typeof (ev as { id?: unknown }).id !== "string") return;
      this.onEvent(partition, ev);
    });
  }

  partitionOf(webContentsId: number): string | null {
    for (const [partition, p] of this.pages) if (!p.win.isDestroyed() && p.win.webContentsId === webContentsId) return partition;
    return null;
  }

  page(partition: string, origin: string, userAgent: string | undefined): Promise<GatewayPage> {
    this.listen();
    const known = this.pages.get(partition);
    if (known && !known.win.isDestroyed() && known.origin === origin) return known.ready;
    known?.win.close();
    const s = this.platform.session(partition);
    hardenSession(s, "gateway");
    if (userAgent) s.setUserAgent(userAgent);
    const win = this.platform.createWindow({ kind: "gateway", title: "grok.com gateway", width: 400, height: 300, show: false, webPreferences: secureWebPreferences(partition, this.preloadPath) });
    guardWindow(this.platform, win, (url) => {
      try {
        return new URL(url).origin === origin ? "allow" : "deny";
      } catch {
        return "deny";
      }
    });
    win.onClosed(() => {
      if (this.pages.get(partition)?.win === win) this.pages.delete(partition);
    });
    const ready = win.loadURL(origin + GATEWAY_PAGE_PATH).then((): GatewayPage => ({ send: (cmd) => win.send(GATEWAY_COMMAND_CHANNEL, cmd) }));
    this.pages.set(partition, { win, ready, origin });
    ready.catch(() => {
      win.close();
      this.pages.delete(partition);
    });
    return ready;
  }

  closeAll(): void {
    for (const p of this.pages.values()) if (!p.win.isDestroyed()) p.win.close();
    this.pages.clear();
  }
}
