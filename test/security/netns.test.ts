import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadRuntimeConfig } from "../../src/server/config/env.js";
import { createLogger } from "../../src/server/log.js";
import { startServer } from "../../src/server/server.js";
import { createStorage, spawnServer } from "../multiprocess/helpers.js";
import { ADMIN_PASSWORD, startStack, type Stack } from "../support/stack.js";
import { chatWithImage, JSON_HEADERS, raw, startTarget, type Target } from "./support.js";

/**
 * The cases that would connect to private ranges (or listen beyond loopback) if a guard failed.
 * They run only inside a network namespace holding nothing but `lo`: run normally, this file
 * re-runs itself under `unshare -n -m` (root on CI), where lo also carries a "public" address
 * (1.2.3.4), private ones (10.9.9.9, 169.254.169.254, fd00:ec2::254) and an /etc/hosts of its
 * own — so even a broken guard could only ever reach this namespace's lo. Without unshare the
 * cases are skipped, saying why. No traffic goes anywhere else.
 */
const CHILD = process.env.G2A_NETNS_CHILD === "1";
const repoRoot = path.resolve(import.meta.dirname, "../..");

/** True when the only network interface is lo (checked before anything is sent). */
function onlyLoopback(): boolean {
  const r = spawnSync("ip", ["-o", "link"], { encoding: "utf8" });
  if (r.status !== 0) return false;
  const links = r.stdout.trim().split("\n").map((l) => l.split(":")[1]?.trim());
  return links.length === 1 && links[0] === "lo";
}

const HOSTS = `127.0.0.1 localhost
::1 localhost
1.2.3.4 public.test
169.254.169.254 meta.test
10.9.9.9 internal.test
1.2.3.4 mixed.test
10.9.9.9 mixed.test
fd00:ec2::254 metadata6.test
`;
const SETUP = [
  "ip link set lo up",
  "ip addr add 1.2.3.4/32 dev lo",
  "ip addr add 10.9.9.9/32 dev lo",
  "ip addr add 169.254.169.254/32 dev lo",
  "ip -6 addr add fd00:ec2::254/128 dev lo",
  'mount --bind "$G2A_NETNS_HOSTS" /etc/hosts',
].join(" && ");

if (!CHILD) {
  const probe = spawnSync("unshare", ["-n", "-m", "--propagation", "private", "true"], { encoding: "utf8" });
  const unavailable = probe.error ? String(probe.error.message) : probe.status !== 0 ? probe.stderr.trim() || `exit ${probe.status}` : null;
  describe("SSRF and network listening, inside an empty network namespace", () => {
    if (unavailable) {
      it.skip(`skipped: cannot create a network namespace (unshare -n: ${unavailable}); needs root or user namespaces`, () => {});
      return;
    }
    it("passes every case under unshare -n", async () => {
      const dir = mkdtempSync(path.join(tmpdir(), "g2a-netns-"));
      const hosts = path.join(dir, "hosts");
      writeFileSync(hosts, HOSTS);
      const vitest = path.join(repoRoot, "node_modules/vitest/vitest.mjs");
      const cmd = `${SETUP} && exec "${process.execPath}" "${vitest}" run test/security/netns.test.ts`;
      const child = spawn("unshare", ["-n", "-m", "--propagation", "private", "sh", "-c", cmd], {
        cwd: repoRoot,
        env: { ...process.env, G2A_NETNS_CHILD: "1", G2A_NETNS_HOSTS: hosts, FORCE_COLOR: "0", NO_COLOR: "1" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.stderr.on("data", (d: Buffer) => (out += d.toString()));
      const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
      rmSync(dir, { recursive: true, force: true });
      const summary = /(\d+) passed, (\d+) failed, (\d+) skipped/.exec(out);
      expect(code, out).toBe(0);
      expect(summary, out).not.toBeNull();
      expect(Number(summary![1]), out).toBe(5); // every case of defineNetnsCases ran
      expect([Number(summary![2]), Number(summary![3])], out).toEqual([0, 0]);
    }, 180_000);
  });
} else {
  if (!onlyLoopback()) throw new Error("refusing to run: this network namespace has interfaces other than lo");
  defineNetnsCases();
}

function defineNetnsCases(): void {
  let stack: Stack;
  let pub: Target; // 1.2.3.4: a "public" address (on this namespace's lo)
  let internal: Target; // 10.9.9.9
  let meta: Target; // 169.254.169.254:80
  let meta6: Target; // [fd00:ec2::254]
  let loop: Target; // 127.0.0.1
  beforeAll(async () => {
    stack = await startStack({ accounts: 1 });
    [pub, internal, meta, meta6, loop] = await Promise.all([startTarget("1.2.3.4"), startTarget("10.9.9.9"), startTarget("169.254.169.254", 80), startTarget("fd00:ec2::254"), startTarget("127.0.0.1")]);
  });
  afterAll(async () => {
    await Promise.all([pub, internal, meta, meta6, loop].map((t) => t?.close()));
    await stack?.close();
  });
  const send = (url: string) => raw(stack.url, "/v1/chat/completions", { headers: JSON_HEADERS, body: chatWithImage(url) });
  const port = (t: Target) => new URL(t.url).port;
  const secretHits = () => [internal, meta, meta6, loop].flatMap((t) => t.hits);

  describe("image URLs (SSRF)", () => {
    it("fetch from a public address, by literal and by name", async () => {
      expect((await send(`${pub.url}/img.png`)).status).toBe(200);
      expect((await send(`http://public.test:${port(pub)}/img.png`)).status).toBe(200);
    });

    it("refuse private, metadata and link-local addresses in every form, without connecting", async () => {
      const i = port(internal);
      const literals = [
        `http://10.9.9.9:${i}/img.png`,
        "http://169.254.169.254/latest/meta-data/",
        `http://[fd00:ec2::254]:${port(meta6)}/img.png`,
        `http://[::ffff:10.9.9.9]:${i}/img.png`,
        `http://[::ffff:a09:909]:${i}/img.png`,
        `http://[::ffff:169.254.169.254]/latest/meta-data/`,
        `http://[::10.9.9.9]:${i}/img.png`,
        `http://[64:ff9b::a09:909]:${i}/img.png`,
        `http://[2002:a09:909::1]:${i}/img.png`,
        `http://[fe80::1]:${i}/img.png`,
        `http://[fec0::1]:${i}/img.png`,
        `http://100.64.0.1:${i}/img.png`,
      ];
      for (const url of literals) {
        const res = await send(url);
        expect(res.status, url).toBe(400);
        expect(res.json.error.message, url).toBe("messages[0].content[1].image_url.url: private, loopback and link-local addresses are not fetched");
      }
      for (const name of [`http://internal.test:${i}/img.png`, "http://meta.test/latest/meta-data/", `http://mixed.test:${i}/img.png`, `http://metadata6.test:${port(meta6)}/img.png`]) {
        const res = await send(name);
        expect(res.status, name).toBe(400);
        expect(res.json.error.message, name).toBe("messages[0].content[1].image_url.url: the image could not be fetched");
        expect(res.body, name).not.toMatch(/10\.9\.9\.9|169\.254|fd00/);
      }
      expect(secretHits()).toEqual([]);
    });

    it("check every redirect hop: a public URL redirecting inside is refused", async () => {
      const targets = [
        `http://10.9.9.9:${port(internal)}/img.png`,
        "http://169.254.169.254/latest/meta-data/",
        `http://[::ffff:10.9.9.9]:${port(internal)}/img.png`,
        `http://[fd00:ec2::254]:${port(meta6)}/img.png`,
        `http://127.0.0.1:${port(loop)}/img.png`,
        `http://[::1]:${port(loop)}/img.png`,
        `http://localhost:${port(loop)}/img.png`,
        `http://internal.test:${port(internal)}/img.png`,
      ];
      for (const to of targets) {
        const before = pub.hits.length;
        const res = await send(`${pub.url}/redirect?to=${encodeURIComponent(to)}`);
        expect(res.status, to).toBe(400);
        expect(pub.hits.length, to).toBe(before + 1); // the public hop was fetched…
      }
      expect(secretHits()).toEqual([]); // …and no hop inside
      // a public redirect chain still works
      expect((await send(`${pub.url}/redirect?to=${encodeURIComponent(`http://public.test:${port(pub)}/img.png`)}`)).status).toBe(200);
    });
  });

  describe("listening beyond loopback", () => {
    it("generates a client key on first start, requires it, keeps it across restarts", async () => {
      const lan = await startStack({ accounts: 1, env: { HOST: "0.0.0.0" } });
      try {
        const key = lan.server.generatedApiKey;
        expect(key).toMatch(/^sk-g2a-[\w-]{32}$/);
        expect((await raw(lan.url, "/v1/models")).status).toBe(401);
        expect((await raw(lan.url, "/v1/models", { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
        // any Host is served: the network was chosen
        expect((await raw(lan.url, "/v1/models", { headers: { host: "grok.lan:8000", authorization: `Bearer ${key}` } })).status).toBe(200);
        const token = await lan.adminToken();
        const save = (grok: Record<string, unknown>) => raw(lan.url, "/api/settings", { headers: { ...JSON_HEADERS, authorization: `Bearer ${token}` }, body: JSON.stringify({ grok_config: grok }) });
        const cleared = await save({ api_key: "" });
        expect(cleared.status).toBe(400);
        expect(cleared.json.message).toMatch(/trusted_network/);

        await lan.server.close();
        const env = { PORT: "0", HOST: "0.0.0.0", GROK2API_DATA_DIR: lan.dataDir, GROK2API_UPSTREAM_URL: lan.fake.url, GROK2API_ASSETS_URL: lan.fake.assetsUrl, GROK2API_ADMIN_PASSWORD: ADMIN_PASSWORD, LOG_LEVEL: "silent" };
        const again = await startServer(loadRuntimeConfig(env), { log: createLogger("silent") });
        try {
          expect(again.generatedApiKey).toBeNull();
          expect((await raw(again.url, "/v1/models", { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
          expect((await raw(again.url, "/health")).json).toEqual({ status: "ok" });
          // the owner declares the network trusted: no key needed any more
          const t = (await raw(again.url, "/api/login", { headers: JSON_HEADERS, body: JSON.stringify({ username: "admin", password: ADMIN_PASSWORD }) })).json.token;
          const ok = await raw(again.url, "/api/settings", { headers: { ...JSON_HEADERS, authorization: `Bearer ${t}` }, body: JSON.stringify({ grok_config: { api_key: "", trusted_network: true } }) });
          expect(ok.status).toBe(200);
          expect((await raw(again.url, "/v1/models")).status).toBe(200);
        } finally {
          await again.close();
        }
      } finally {
        await lan.close();
      }
    });

    it("prints the generated key once, from the CLI", async () => {
      const storage = await createStorage("file");
      const fakeGrok = await startStack({ accounts: 0 }); // only for its fake grok.com
      try {
        const start = () => spawnServer({ label: "lan", storage, upstreamUrl: fakeGrok.fake.url, assetsUrl: fakeGrok.fake.assetsUrl, env: { HOST: "0.0.0.0" } });
        const first = await start();
        await new Promise((r) => setTimeout(r, 300));
        const m = /generated client API key: (sk-g2a-[\w-]+)/.exec(first.output());
        expect(m, first.output()).not.toBeNull();
        expect((await raw(first.url, "/v1/models", { headers: { authorization: `Bearer ${m![1]}` } })).status).toBe(200);
        await first.kill("SIGTERM");
        const second = await start();
        await new Promise((r) => setTimeout(r, 300));
        expect(second.output()).not.toMatch(/generated client API key/);
        expect(second.output()).not.toContain(m![1]);
        await second.kill("SIGTERM");
      } finally {
        await fakeGrok.close();
        await storage.cleanup();
      }
    });
  });
}
