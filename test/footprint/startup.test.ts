/**
 * `npm start` runs compiled JavaScript (dist/, built by `npm run build:server` / `npm ci`), and a
 * started server has loaded neither database driver, nor impit, ws, undici, the proxy agents or
 * the mp3 encoder: each is loaded when first used. The child runs bin/grok2api.mjs without tsx
 * (as `npm start` does), with a preload that lists every module the process resolved
 * (module-log-hook.mjs, on SIGUSR2). Nothing here measures time.
 */
import { spawn, type ChildProcessByStdio } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeGrok, type FakeGrok } from "../fake-grok/index.js";
import { createTestRedis } from "../store/helpers.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
const HOOK = path.join(import.meta.dirname, "module-log-hook.mjs");
const PASSWORD = "footprint-admin-password";
const children = new Set<ChildProcessByStdio<null, Readable, Readable>>();
const dirs: string[] = [];

interface Child {
  url: string;
  /** Package names (and dist/src entry points) of every module resolved so far. */
  loaded(): Promise<{ packages: Set<string>; urls: string[] }>;
  stop(): Promise<void>;
}

async function start(env: Record<string, string>): Promise<Child> {
  const dataDir = mkdtempSync(path.join(tmpdir(), "g2a-footprint-"));
  dirs.push(dataDir);
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^(GROK2API_|STORAGE_MODE$|DATABASE_URL$|PORT$|HOST$|NODE_OPTIONS$)/.test(k)) clean[k] = v;
  const proc = spawn(process.execPath, ["--import", HOOK, "bin/grok2api.mjs", "serve"], {
    cwd: ROOT,
    env: { ...clean, PORT: "0", HOST: "127.0.0.1", GROK2API_DATA_DIR: dataDir, GROK2API_ADMIN_PASSWORD: PASSWORD, LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(proc);
  let out = "";
  let err = "";
  proc.stdout.on("data", (d: Buffer) => (out += d));
  proc.stderr.on("data", (d: Buffer) => (err += d));
  const exited = new Promise<void>((r) => proc.once("exit", () => (children.delete(proc), r())));
  const url = await new Promise<string>((resolve, reject) => {
    const guard = setTimeout(() => reject(new Error(`no "listening on" line within 30 s:\n${out}\n${err}`)), 30_000);
    const check = () => {
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        clearTimeout(guard);
        resolve(m[1]!);
      }
    };
    proc.stdout.on("data", check);
    void exited.then(() => reject(new Error(`server exited:\n${out}\n${err}`)));
  });
  return {
    url,
    async loaded() {
      const before = err.length;
      proc.kill("SIGUSR2");
      for (let i = 0; i < 200 && !err.slice(before).includes("loaded-modules "); i++) await new Promise((r) => setTimeout(r, 10));
      const line = err.slice(before).split("\n").find((l) => l.startsWith("loaded-modules "));
      if (!line) throw new Error(`no module list from the child:\n${err}`);
      const urls = JSON.parse(line.slice("loaded-modules ".length)) as string[];
      const packages = new Set<string>();
      for (const u of urls) {
        const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u);
        if (m) packages.add(m[1]!);
      }
      return { packages, urls };
    },
    async stop() {
      proc.kill("SIGTERM");
      await exited;
    },
  };
}

const LAZY = ["mysql2", "ioredis", "impit", "ws", "undici", "https-proxy-agent", "socks-proxy-agent", "@breezystack/lamejs"];

let fake: FakeGrok;
beforeAll(async () => {
  fake = await startFakeGrok();
});
afterAll(async () => {
  for (const c of children) c.kill("SIGKILL");
  await fake?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("start-up footprint", () => {
  it("runs the compiled server (no TypeScript loader) and loads no driver, HTTP client or media encoder before they are used", async () => {
    const child = await start({ GROK2API_UPSTREAM_URL: fake.url, GROK2API_ASSETS_URL: fake.assetsUrl, GROK2API_TRANSPORT: "impit" });
    try {
      const health = await fetch(`${child.url}/health`);
      expect(health.status).toBe(200);
      const { packages, urls } = await child.loaded();
      expect(urls.some((u) => u.endsWith("/dist/server/cli.js"))).toBe(true);
      expect(urls.some((u) => /\/src\/server\/.*\.ts$/.test(u))).toBe(false);
      expect(packages.has("tsx")).toBe(false);
      expect(LAZY.filter((p) => packages.has(p))).toEqual([]);
      expect(packages.has("koa")).toBe(true); // the list is real

      // first use: a chat over REST with impit (run in its worker thread: the main thread loads neither impit nor anything else it does not need)
      const login = (await (await fetch(`${child.url}/api/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "admin", password: PASSWORD }) })).json()) as { token: string };
      const admin = { "content-type": "application/json", authorization: `Bearer ${login.token}` };
      const acc = fake.addAccount();
      expect((await fetch(`${child.url}/api/tokens/add`, { method: "POST", headers: admin, body: JSON.stringify({ tokens: [acc.sso], token_type: "sso" }) })).status).toBe(200);
      expect((await fetch(`${child.url}/api/settings`, { method: "POST", headers: admin, body: JSON.stringify({ grok_config: { chat_transport: "rest" } }) })).status).toBe(200);
      const chat = await fetch(`${child.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "grok-chat-fast", messages: [{ role: "user", content: "hi" }] }) });
      expect(chat.status).toBe(200);
      const after = await child.loaded();
      expect((await chat.json()).choices[0].message.content).toBeTruthy();
      expect(after.packages.has("impit")).toBe(false);
      expect(["mysql2", "ioredis", "ws", "@breezystack/lamejs"].filter((p) => after.packages.has(p))).toEqual([]);
    } finally {
      await child.stop();
    }
  });

  it("loads only the driver of the storage mode chosen (Redis: ioredis, never mysql2)", async () => {
    const r = await createTestRedis();
    try {
      const child = await start({ STORAGE_MODE: "redis", DATABASE_URL: r.url, GROK2API_UPSTREAM_URL: fake.url, GROK2API_ASSETS_URL: fake.assetsUrl });
      try {
        const { packages } = await child.loaded();
        expect(packages.has("ioredis")).toBe(true);
        expect(packages.has("mysql2")).toBe(false);
      } finally {
        await child.stop();
      }
    } finally {
      // the server used the default "g2a:" prefix in the claimed index: remove its keys, then the claim
      let cursor = "0";
      do {
        const [next, keys] = await r.client.scan(cursor, "MATCH", "g2a:*", "COUNT", 500);
        cursor = next;
        if (keys.length) await r.client.del(...keys);
      } while (cursor !== "0");
      await r.cleanup();
    }
  });
});
