/**
 * The server inside the app: the same startServer the headless CLI runs, with its data in the
 * app's user-data folder and its log in the logs folder. Port 8000 (or PORT), else the next free
 * one (the tray and a notification say which). Pause/resume for the client API, an admin session
 * for the app's own window, and a clean close (connections and streams closed, pool and store
 * flushed).
 */
import type { RuntimeConfig } from "../server/config/env.js";
import type { createLogger, Logger } from "../server/log.js";
import type { RunningServer, startServer as StartServer } from "../server/server.js";
import { installPauseGate } from "./pause-gate.js";
import { listenWithFallback } from "./port.js";

/** What the host needs from the server bundle (out/server/index.mjs in the app, src/server in tests). */
export interface ServerModule {
  startServer: typeof StartServer;
  loadRuntimeConfig(env: NodeJS.ProcessEnv): RuntimeConfig;
  createLogger: typeof createLogger;
  /** settings.json `_meta.version` this server writes. */
  SETTINGS_VERSION: number;
}

export type StartOptions = NonNullable<Parameters<typeof StartServer>[1]>;

export interface ServerHostOptions {
  server: ServerModule;
  dataDir: string;
  env?: NodeJS.ProcessEnv;
  log: Logger;
  /** Ports tried after the first one is taken. Default 20. */
  portTries?: number;
  /** Extra startServer options (the upstream transport hook, the store's secret codec). */
  start?: Omit<StartOptions, "listen" | "log">;
}

export class ServerHost {
  running: RunningServer | null = null;
  runtime: RuntimeConfig | null = null;
  port = 0;
  /** The port asked for, when it was taken and another one is used. */
  requestedPort: number | null = null;
  paused = false;
  private session: string | null = null;
  private closing: Promise<void> | null = null;

  constructor(private readonly opts: ServerHostOptions) {}

  get baseUrl(): string {
    const host = this.runtime?.host ?? "127.0.0.1";
    const shown = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
    return `http://${shown}:${this.port}`;
  }

  async start(): Promise<RunningServer> {
    if (this.running) return this.running;
    // the app's data folder wins over a GROK2API_DATA_DIR left in the environment
    const runtime = this.opts.server.loadRuntimeConfig({ ...this.opts.env, GROK2API_DATA_DIR: this.opts.dataDir });
    this.runtime = runtime;
    const running = await this.opts.server.startServer(runtime, { ...this.opts.start, log: this.opts.log, listen: false });
    try {
      installPauseGate(running.server, () => this.paused);
      this.port = await listenWithFallback(running.server, runtime.host, runtime.port, this.opts.portTries ?? 20);
    } catch (err) {
      await running.close().catch(() => undefined);
      throw err;
    }
    this.requestedPort = runtime.port !== 0 && this.port !== runtime.port ? runtime.port : null;
    if (this.requestedPort !== null) this.opts.log.warn("port taken; serving on the next free one", { requested: this.requestedPort, port: this.port });
    this.running = running;
    this.opts.log.info("server ready", { url: this.baseUrl, data: this.opts.dataDir });
    return running;
  }

  pause(): void {
    this.paused = true;
    this.opts.log.info("client API paused from the tray");
  }

  resume(): void {
    this.paused = false;
    this.opts.log.info("client API resumed");
  }

  /** An admin session for the app's manager window (no password: the app is its owner). Re-minted when it expired. */
  async mintSession(): Promise<string> {
    const auth = this.requireRunning().deps.auth;
    if (this.session && (await auth.verify(this.session))) return this.session;
    this.session = await auth.mintSession();
    return this.session;
  }

  requireRunning(): RunningServer {
    if (!this.running) throw new Error("the server is not running");
    return this.running;
  }

  /** Closes every connection (streams included), stops the pool's sync, flushes pool and store. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const r = this.running;
      if (!r) return;
      await r.deps.pool.flush().catch((err) => this.opts.log.warn("pool flush on quit failed", { err }));
      await r.close();
      this.running = null;
      this.opts.log.info("server closed");
    })();
    return this.closing;
  }
}
