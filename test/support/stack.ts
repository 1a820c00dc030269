import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import OpenAI from "openai";
import { loadRuntimeConfig } from "../../src/server/config/env.js";
import type { GrokSettings } from "../../src/server/config/settings-schema.js";
import { createLogger, type Logger } from "../../src/server/log.js";
import type { Tier } from "../../src/server/core/account.js";
import { startServer, type HttpTimeouts, type RunningServer } from "../../src/server/server.js";
import { startFakeGrok, type FakeAccount, type FakeGrok } from "../fake-grok/index.js";

export const ADMIN_PASSWORD = "test-admin-password";

export interface Stack {
  fake: FakeGrok;
  server: RunningServer;
  url: string;
  openai: OpenAI;
  accounts: FakeAccount[];
  dataDir: string;
  /** Adds an account to the fake and to the proxy's pool. */
  addAccount(tier?: Tier): Promise<FakeAccount>;
  adminToken(): Promise<string>;
  close(): Promise<void>;
}

export interface StackOptions {
  accounts?: number | Tier[];
  settings?: Partial<GrokSettings>;
  env?: Record<string, string>;
  transport?: "impit" | "fetch";
  /** The server's logger (default: LOG_LEVEL from TEST_LOG_LEVEL, to stderr). */
  log?: Logger;
  httpTimeouts?: Partial<HttpTimeouts>;
}

/** The fake grok.com and the real server on loopback, wired together, with an official OpenAI client. */
export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const fake = await startFakeGrok();
  const dataDir = mkdtempSync(path.join(tmpdir(), "g2a-it-"));
  const runtime = loadRuntimeConfig({
    PORT: "0",
    GROK2API_DATA_DIR: dataDir,
    GROK2API_UPSTREAM_URL: fake.url,
    GROK2API_ASSETS_URL: fake.assetsUrl,
    GROK2API_TRANSPORT: opts.transport ?? "impit",
    GROK2API_ADMIN_PASSWORD: ADMIN_PASSWORD,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    ...opts.env,
  });
  const server = await startServer(runtime, { log: opts.log ?? createLogger(runtime.logLevel), ...(opts.httpTimeouts ? { httpTimeouts: opts.httpTimeouts } : {}) });
  if (opts.settings) await server.deps.settings.update({ grok: opts.settings as Record<string, unknown> });
  const accounts: FakeAccount[] = [];
  const addAccount = async (tier: Tier = "basic") => {
    const acc = fake.addAccount({ tier });
    await server.deps.pool.add([acc.sso], { tier, tierSource: "manual" });
    accounts.push(acc);
    return acc;
  };
  const tiers = Array.isArray(opts.accounts) ? opts.accounts : Array.from({ length: opts.accounts ?? 1 }, () => "basic" as Tier);
  for (const t of tiers) await addAccount(t);
  const openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: opts.env?.GROK2API_API_KEY?.split(",")[0] ?? "test-key", maxRetries: 0, timeout: 20_000 });
  let session: string | null = null;
  return {
    fake,
    server,
    url: server.url,
    openai,
    accounts,
    dataDir,
    addAccount,
    async adminToken() {
      if (session) return session;
      const res = await fetch(`${server.url}/api/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "admin", password: ADMIN_PASSWORD }) });
      const body = (await res.json()) as { token: string };
      session = body.token;
      return session;
    },
    async close() {
      await server.close();
      await fake.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Reads an SSE response into its raw events (data payloads and comment lines). */
export async function readSse(res: Response): Promise<{ data: string[]; comments: string[]; raw: string }> {
  const raw = await res.text();
  const data: string[] = [];
  const comments: string[] = [];
  for (const block of raw.split("\n\n")) {
    for (const line of block.split("\n")) {
      if (line.startsWith("data: ")) data.push(line.slice(6));
      else if (line.startsWith(":")) comments.push(line);
    }
  }
  return { data, comments, raw };
}

export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 5000, stepMs = 20): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  throw new Error("condition not met in time");
}
