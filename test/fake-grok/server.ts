/** Starts the three loopback listeners (grok.com, assets, signer) and exposes the FakeGrok control API. */
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { createServer } from "node:http";
import { WebSocketServer } from "ws";
import type { FakeAccount, FakeAccountOptions, FakeGrok, FakeGrokOptions, QuotaEntry, RecordedRequest, Scenario, ScenarioName } from "./types.js";
import type { AccountRecord } from "./state.js";
import { handleAsset } from "./assets.js";
import { handleControl } from "./control.js";
import { Core } from "./core.js";
import type { Responder } from "./scenarios.js";
import { handleGatewayUpgrade } from "./gateway.js";
import { handleImagineUpgrade } from "./imagine.js";
import { handleGrokRequest, parseBody } from "./router.js";
import { handleSign } from "./site.js";
import { FakeState } from "./state.js";
import { debug, flatHeaders, parseCookies, queryOf, randomHex, readBody } from "./util.js";
import { failures, writeFailureToSocket } from "./errors.js";

const CHAT_PATH = /^\/rest\/app-chat\/conversations\/(?:new|[^/]+\/responses)$/;

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      const addr = server.address();
      resolve(typeof addr === "object" && addr ? addr.port : port);
    });
  });
}

class FakeGrokServer implements FakeGrok {
  readonly core: Core;
  private readonly servers: Server[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly wss: WebSocketServer;

  constructor(opts: FakeGrokOptions) {
    this.core = new Core(new FakeState(opts));
    this.wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      maxPayload: 16 * 1024 * 1024,
      handleProtocols: (protocols) => (protocols.has("json") ? "json" : false),
    });
  }

  get url(): string {
    return this.core.url;
  }
  get assetsUrl(): string {
    return this.core.assetsUrl;
  }
  get signerUrl(): string {
    return this.core.signerUrl;
  }
  get options(): FakeGrokOptions {
    return this.core.state.options;
  }
  get requests(): RecordedRequest[] {
    return this.core.state.requests;
  }

  private mustAccount(sso: string): AccountRecord {
    const acc = this.core.state.accounts.get(sso);
    if (!acc) throw new Error(`fake-grok: unknown account ${sso.slice(0, 24)}…`);
    return acc;
  }

  addAccount(opts?: FakeAccountOptions): FakeAccount {
    const a = this.core.state.addAccount(opts);
    return { sso: a.sso, userId: a.userId, tier: a.tier };
  }

  account(sso: string): (FakeAccount & { quota: Record<string, QuotaEntry>; session: string }) | undefined {
    const a = this.core.state.accounts.get(sso);
    if (!a) return undefined;
    return { sso: a.sso, userId: a.userId, tier: a.tier, session: a.session, quota: structuredClone(a.quota) };
  }

  accounts(): Array<FakeAccount & { quota: Record<string, QuotaEntry>; session: string }> {
    return [...this.core.state.accounts.keys()].map((s) => this.account(s)!);
  }

  setQuota(sso: string, mode: string, q: { remaining: number; total?: number; windowSeconds?: number; nextAvailableAt?: string }): void {
    if (typeof q.remaining !== "number") throw new Error("setQuota needs a numeric remaining");
    this.core.state.setQuota(this.mustAccount(sso), mode, q);
  }

  setSession(sso: string, session: FakeAccountOptions["session"]): void {
    const valid = ["authenticated", "unauthenticated", "blocked", "http401"];
    if (!session || !valid.includes(session)) throw new Error(`invalid session state ${String(session)}`);
    this.mustAccount(sso).session = session;
  }

  queue(sso: string, ...scenarios: Array<Scenario | ScenarioName>): void {
    if (sso !== "*") this.mustAccount(sso);
    this.core.state.scenarios.push(sso, scenarios);
  }

  respond(fn: Responder | null): void {
    this.core.state.scenarios.setResponder(fn);
  }

  setDefault(scenario: Scenario | ScenarioName): void {
    this.core.state.scenarios.setDefault(scenario);
  }

  chatRequests(): RecordedRequest[] {
    return this.requests.filter((r) => (r.transport === "http" && r.method === "POST" && CHAT_PATH.test(r.path)) || (r.transport === "ws" && r.path === "/ws/mgw/"));
  }

  openConnections(): number {
    return this.core.openStreams.size + this.core.openSockets.size;
  }

  reset(): void {
    this.core.state.reset();
  }

  issueCfClearance(userAgent: string): string {
    const value = `${randomHex(20)}-${Math.floor(Date.now() / 1000)}-1.2.1.1-${randomHex(40)}`;
    this.core.state.cfClearance.set(value, userAgent);
    return value;
  }

  private track(server: Server): Server {
    server.on("connection", (s: Socket) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
    this.servers.push(server);
    return server;
  }

  private async onGrok(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.core.url);
    if (url.pathname.startsWith("/__control/")) return handleControl(this, req, res, url);
    await handleGrokRequest(this.core, req, res, url);
  }

  private async onSide(kind: "assets" | "signer", req: IncomingMessage, res: ServerResponse): Promise<void> {
    const base = kind === "assets" ? this.core.assetsUrl : this.core.signerUrl;
    const url = new URL(req.url ?? "/", base);
    const raw = await readBody(req);
    const headers = flatHeaders(req.headers);
    const cookies = parseCookies(headers["cookie"]);
    const body = parseBody(headers, raw);
    const rec = this.core.state.record({ transport: "http", method: req.method ?? "GET", path: url.pathname, query: queryOf(url), headers, cookies, body, server: kind });
    const ctx = { core: this.core, req, res, url, rec, headers, cookies, raw, body, params: [] };
    if (kind === "assets") handleAsset(ctx);
    else handleSign(ctx);
  }

  private onUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const url = new URL(req.url ?? "/", this.core.url);
    socket.on("error", (e) => debug("upgrade socket error", e.message));
    if (url.pathname === "/ws/mgw/") return handleGatewayUpgrade(this.core, this.wss, req, socket, head, url);
    if (url.pathname === "/ws/imagine/listen") return handleImagineUpgrade(this.core, this.wss, req, socket, head, url);
    const headers = flatHeaders(req.headers);
    const rec = this.core.state.record({ transport: "ws", method: "GET", path: url.pathname, query: queryOf(url), headers, cookies: parseCookies(headers["cookie"]), server: "grok" });
    rec.rejected = { status: 404, reason: `no WebSocket route ${url.pathname}` };
    writeFailureToSocket(socket, failures.notFound("Not Found"));
  }

  async start(port: number): Promise<void> {
    const wrap = (fn: (req: IncomingMessage, res: ServerResponse) => Promise<void>) => (req: IncomingMessage, res: ServerResponse) => {
      fn(req, res).catch((e: unknown) => {
        debug("request failed", e);
        if (!res.headersSent) {
          res.writeHead(500);
          res.end();
        } else res.destroy();
      });
    };
    const grok = this.track(createServer(wrap((q, s) => this.onGrok(q, s))));
    grok.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => this.onUpgrade(req, socket, head));
    const assets = this.track(createServer(wrap((q, s) => this.onSide("assets", q, s))));
    const signer = this.track(createServer(wrap((q, s) => this.onSide("signer", q, s))));
    this.core.url = `http://127.0.0.1:${await listen(grok, port)}`;
    this.core.assetsUrl = `http://127.0.0.1:${await listen(assets, 0)}`;
    this.core.signerUrl = `http://127.0.0.1:${await listen(signer, 0)}`;
  }

  async close(): Promise<void> {
    if (this.core.closing) return;
    this.core.closing = true;
    this.core.timers.clearAll();
    for (const ws of this.core.openSockets) ws.terminate();
    for (const s of this.sockets) s.destroy();
    this.wss.close();
    await Promise.all(this.servers.map((srv) => new Promise<void>((resolve) => srv.close(() => resolve()))));
  }
}

export async function startFakeGrok(opts: FakeGrokOptions = {}): Promise<FakeGrok> {
  const fake = new FakeGrokServer(opts);
  await fake.start(opts.port ?? 0);
  return fake;
}
