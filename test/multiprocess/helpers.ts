/**
 * Harness for the multi-process acceptance tests: real server child processes
 * (`node --import tsx bin/grok2api.mjs serve`, PORT=0), a per-run MySQL database / Redis index
 * (claimed through test/store/helpers.ts), and small HTTP helpers for the admin and OpenAI APIs.
 *
 * Every child is registered in `children`; `killAllChildren()` (afterAll) and a process "exit"
 * hook SIGKILL whatever is still running, so no test leaves a server behind.
 */
import { spawn, type ChildProcessByStdio } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { createTestDatabase, createTestRedis } from "../store/helpers.js";

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, "../..");
const BIN = path.join(repoRoot, "bin/grok2api.mjs");

export const ADMIN_PASSWORD = "mp-test-admin-password";
export type Backend = "file" | "mysql" | "redis";

// ------------------------------------------------------------------ storage per run

export interface Storage {
  backend: Backend;
  /** Env for the server children: STORAGE_MODE, DATABASE_URL, GROK2API_DATA_DIR. */
  env: Record<string, string>;
  dataDir: string;
  /**
   * Reads what is durably stored, bypassing the server: every account record and the settings
   * document, each JSON-parsed (throws if any of them does not parse).
   */
  raw(): Promise<{ accounts: { token: string }[]; settings: Record<string, Record<string, unknown>> }>;
  /** Drops the database / deletes the Redis keys and releases the index / removes the data dir. */
  cleanup(): Promise<void>;
}

/** The Redis key prefix the server uses (startServer passes no keyPrefix: RedisStore's default). */
const SERVER_REDIS_PREFIX = "g2a:";

export async function createStorage(backend: Backend): Promise<Storage> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), `g2a-mp-${backend}-`));
  const removeDir = () => rm(dataDir, { recursive: true, force: true });
  if (backend === "file") {
    return {
      backend,
      dataDir,
      env: { STORAGE_MODE: "file", GROK2API_DATA_DIR: dataDir },
      async raw() {
        const doc = JSON.parse(await readFile(path.join(dataDir, "accounts.json"), "utf8")) as { accounts: { token: string }[] };
        JSON.parse(await readFile(path.join(dataDir, "kv.json"), "utf8"));
        return { accounts: doc.accounts, settings: JSON.parse(await readFile(path.join(dataDir, "settings.json"), "utf8")) };
      },
      cleanup: removeDir,
    };
  }
  if (backend === "mysql") {
    const db = await createTestDatabase();
    return {
      backend,
      dataDir,
      env: { STORAGE_MODE: "mysql", DATABASE_URL: db.url, GROK2API_DATA_DIR: dataDir },
      async raw() {
        const c = await db.conn();
        try {
          const [rows] = await c.query("SELECT record FROM g2a_accounts");
          const [[settings]] = (await c.query("SELECT data FROM g2a_settings")) as unknown as [{ data: string }[]];
          return { accounts: (rows as { record: string }[]).map((r) => JSON.parse(r.record)), settings: JSON.parse(settings!.data) };
        } finally {
          await c.end();
        }
      },
      async cleanup() {
        await db.drop();
        await removeDir();
      },
    };
  }
  const r = await createTestRedis();
  return {
    backend,
    dataDir,
    env: { STORAGE_MODE: "redis", DATABASE_URL: r.url, GROK2API_DATA_DIR: dataDir },
    async raw() {
      const accounts = Object.values(await r.client.hgetall(`${SERVER_REDIS_PREFIX}accounts`)).map((v) => JSON.parse(v));
      return { accounts, settings: JSON.parse((await r.client.get(`${SERVER_REDIS_PREFIX}settings`))!) };
    },
    async cleanup() {
      // The index was empty when claimed (and claimed with SET NX), so everything under the
      // server's prefix in it is ours; then the helper removes its own prefix and the claim.
      let cursor = "0";
      do {
        const [next, keys] = await r.client.scan(cursor, "MATCH", `${SERVER_REDIS_PREFIX}*`, "COUNT", 500);
        cursor = next;
        if (keys.length) await r.client.del(...keys);
      } while (cursor !== "0");
      await r.cleanup();
      await removeDir();
    },
  };
}

// ------------------------------------------------------------------ server children

export interface ServerChild {
  label: string;
  url: string;
  pid: number;
  /** Everything the child wrote so far (stdout + stderr), for failure messages. */
  output(): string;
  /** Resolves when the child has exited (at once if it already has). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children = new Set<ChildProcessByStdio<null, Readable, Readable>>();
process.on("exit", () => {
  for (const c of children) c.kill("SIGKILL");
});

const PASS_THROUGH_BLOCKED = /^(GROK2API_|STORAGE_MODE$|DATABASE_URL$|PORT$|HOST$|LOG_LEVEL$)/;

export interface SpawnOptions {
  label: string;
  storage: Storage;
  upstreamUrl: string;
  assetsUrl: string;
  env?: Record<string, string>;
  startTimeoutMs?: number;
}

/** Starts `grok2api serve` on a random loopback port; resolves once it printed its URL. */
export function spawnServer(opts: SpawnOptions): Promise<ServerChild> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !PASS_THROUGH_BLOCKED.test(k)) env[k] = v;
  Object.assign(env, {
    PORT: "0",
    HOST: "127.0.0.1",
    GROK2API_UPSTREAM_URL: opts.upstreamUrl,
    GROK2API_ASSETS_URL: opts.assetsUrl,
    GROK2API_TRANSPORT: "impit",
    GROK2API_ADMIN_PASSWORD: ADMIN_PASSWORD,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "warn",
    ...opts.storage.env,
    ...opts.env,
  });
  const proc = spawn(process.execPath, ["--import", "tsx", BIN, "serve"], { cwd: repoRoot, env, stdio: ["ignore", "pipe", "pipe"] });
  children.add(proc);
  let out = "";
  proc.stdout.on("data", (d: Buffer) => (out += d.toString()));
  proc.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once("exit", (code, signal) => {
      children.delete(proc);
      resolve({ code, signal });
    });
  });
  const kill = async (signal: NodeJS.Signals = "SIGKILL") => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    return exited;
  };
  const timeoutMs = opts.startTimeoutMs ?? 20_000;
  return new Promise<ServerChild>((resolve, reject) => {
    const guard = setTimeout(() => {
      void kill();
      reject(new Error(`${opts.label}: no "listening on" line within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const onData = () => {
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (!m) return;
      clearTimeout(guard);
      proc.stdout.off("data", onData);
      resolve({ label: opts.label, url: m[1]!, pid: proc.pid!, output: () => out, exited, kill });
    };
    proc.stdout.on("data", onData);
    void exited.then(({ code, signal }) => {
      clearTimeout(guard);
      reject(new Error(`${opts.label} exited before listening (code ${code}, signal ${signal}):\n${out}`));
    });
  });
}

/** SIGKILLs every child still running and waits for them to exit. */
export async function killAllChildren(): Promise<void> {
  const waits = [...children].map(
    (c) =>
      new Promise<void>((resolve) => {
        if (c.exitCode !== null || c.signalCode !== null) return resolve();
        c.once("exit", () => resolve());
        c.kill("SIGKILL");
      }),
  );
  await Promise.all(waits);
}

// ------------------------------------------------------------------ HTTP

export interface JsonResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  ms: number;
}

export async function http<T = any>(url: string, init: { method?: string; token?: string; body?: unknown; timeoutMs?: number } = {}): Promise<JsonResponse<T>> {
  const started = Date.now();
  const headers: Record<string, string> = {};
  if (init.body !== undefined) headers["content-type"] = "application/json";
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  const res = await fetch(url, {
    method: init.method ?? (init.body === undefined ? "GET" : "POST"),
    headers,
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    signal: AbortSignal.timeout(init.timeoutMs ?? 10_000),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON: keep the text */
  }
  return { status: res.status, headers: res.headers, body: body as T, ms: Date.now() - started };
}

/** An admin session on one server. */
export class Admin {
  private constructor(
    readonly baseUrl: string,
    readonly session: string,
  ) {}

  static async login(baseUrl: string): Promise<Admin> {
    const r = await http<{ success: boolean; token: string }>(`${baseUrl}/api/login`, { body: { username: "admin", password: ADMIN_PASSWORD } });
    if (r.status !== 200 || !r.body.token) throw new Error(`login on ${baseUrl} failed: ${r.status} ${JSON.stringify(r.body)}`);
    return new Admin(baseUrl, r.body.token);
  }

  get<T = any>(p: string, timeoutMs?: number): Promise<JsonResponse<T>> {
    return http<T>(`${this.baseUrl}${p}`, { token: this.session, ...(timeoutMs ? { timeoutMs } : {}) });
  }

  post<T = any>(p: string, body: unknown, timeoutMs?: number): Promise<JsonResponse<T>> {
    return http<T>(`${this.baseUrl}${p}`, { token: this.session, body, ...(timeoutMs ? { timeoutMs } : {}) });
  }

  async tokens(): Promise<TokenRow[]> {
    const r = await this.get<{ success: boolean; data: TokenRow[] }>("/api/tokens");
    if (r.status !== 200 || !r.body.success) throw new Error(`GET /api/tokens on ${this.baseUrl}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.data;
  }

  async token(sso: string): Promise<TokenRow | undefined> {
    return (await this.tokens()).find((t) => t.token === sso);
  }

  async settings(): Promise<{ global: Record<string, unknown>; grok: Record<string, unknown> }> {
    const r = await this.get("/api/settings");
    if (r.status !== 200 || !r.body.success) throw new Error(`GET /api/settings on ${this.baseUrl}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.data;
  }

  /** POSTs /api/settings and insists on `{success: true}`. */
  async setGrok(values: Record<string, unknown>): Promise<void> {
    const r = await this.post("/api/settings", { grok_config: values });
    if (r.status !== 200 || r.body.success !== true) throw new Error(`POST /api/settings on ${this.baseUrl}: ${r.status} ${JSON.stringify(r.body)}`);
  }

  async addTokens(tokens: string[]): Promise<JsonResponse> {
    return this.post("/api/tokens/add", { tokens, token_type: "sso" });
  }
}

/** The fields of one /api/tokens row the tests look at (routes.ts tokenInfo()). */
export interface TokenRow {
  token: string;
  token_type: string;
  created_time: number;
  status: string;
  tags: string[];
  note: string;
  tier: string;
  tier_source: string;
  state: string;
  usable: boolean;
  status_reason: string | null;
  cooldown_until: number | null;
  quota: Record<string, { remaining: number; total: number; resetAt: number | null }>;
  in_flight: number;
  use_count: number;
  fail_count: number;
  [k: string]: unknown;
}

/** POST /v1/chat/completions (non-stream) with a one-line prompt. */
export function chat(baseUrl: string, opts: { model?: string; prompt?: string; timeoutMs?: number } = {}): Promise<JsonResponse> {
  return http(`${baseUrl}/v1/chat/completions`, {
    body: { model: opts.model ?? "grok-chat-fast", messages: [{ role: "user", content: opts.prompt ?? "hello" }] },
    timeoutMs: opts.timeoutMs ?? 20_000,
  });
}

/** Polls `probe` until it returns a truthy value; throws (with the last value) after timeoutMs. */
export async function eventually<T>(what: string, probe: () => Promise<T> | T, timeoutMs = 8_000, everyMs = 50): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastErr: unknown;
  for (;;) {
    try {
      last = await probe();
      if (last) return last as NonNullable<T>;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() >= end) {
      const detail = lastErr ? ` (last error: ${(lastErr as Error).message})` : ` (last value: ${JSON.stringify(last)})`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}${detail}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
