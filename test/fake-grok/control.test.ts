import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import type { FakeGrok } from "./index.js";
import { DEFAULT_TEXT, startFakeGrok } from "./index.js";
import { frames, newChat } from "./test-helpers.js";

let fake: FakeGrok;
beforeAll(async () => {
  fake = await startFakeGrok();
});
afterAll(() => fake.close());

const ctl = async (method: string, path: string, body?: unknown) => {
  const r = await fetch(`${fake.url}/__control/${path}`, { method, headers: { "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: r.status, body: await r.json() };
};

describe("/__control/ HTTP surface", () => {
  it("creates accounts, queues scenarios, sets quota/session/options and lists requests", async () => {
    expect((await ctl("GET", "health")).body).toMatchObject({ ok: true, url: fake.url, assetsUrl: fake.assetsUrl, signerUrl: fake.signerUrl });
    const acc = (await ctl("POST", "accounts", { tier: "heavy" })).body;
    expect(acc.tier).toBe("heavy");
    expect((await ctl("POST", "accounts", { count: 2 })).body).toHaveLength(2);
    expect((await ctl("GET", `accounts?sso=${encodeURIComponent(acc.sso)}`)).body.quota.heavy.total).toBe(50);
    expect((await ctl("GET", "accounts")).body.length).toBe(3);
    await ctl("POST", "queue", { sso: acc.sso, scenarios: [{ name: "text", text: "from control" }, "http-429"] });
    expect((await ctl("POST", "queue", { scenarios: ["nope"] })).status).toBe(400);
    const fr = await frames(await newChat(fake, acc));
    expect(fr.map((f) => f.result?.response?.token ?? "").join("")).toBe("from control");
    expect((await newChat(fake, acc)).status).toBe(429);
    await ctl("POST", "default", { scenario: { name: "text", text: "default text" } });
    expect((await frames(await newChat(fake, acc))).map((f) => f.result?.response?.token ?? "").join("")).toBe("default text");
    const q = (await ctl("POST", "quota", { sso: acc.sso, mode: "fast", remaining: 3 })).body;
    expect(q.quota.fast.remaining).toBe(3);
    await ctl("POST", "session", { sso: acc.sso, session: "blocked" });
    expect((await newChat(fake, acc)).status).toBe(403);
    expect((await ctl("POST", "session", { sso: acc.sso, session: "weird" })).status).toBe(400);
    expect((await ctl("POST", "options", { rejectE: false })).body.rejectE).toBe(false);
    const all = (await ctl("GET", "requests")).body;
    expect(all.every((r: any) => !r.path.startsWith("/__control/"))).toBe(true);
    const chats = (await ctl("GET", "requests?chat=1")).body;
    expect(chats).toHaveLength(4);
    expect((await ctl("GET", `requests?since=${chats[2].id}`)).body[0].id).toBe(chats[3].id);
    expect((await ctl("GET", "state")).body.openConnections).toBe(0);
    await ctl("POST", "reset");
    expect((await ctl("GET", "requests")).body).toEqual([]);
    expect(fake.options.rejectE).toBeUndefined();
    await ctl("POST", "session", { sso: acc.sso, session: "authenticated" });
    expect((await frames(await newChat(fake, acc))).map((f) => f.result?.response?.token ?? "").join("")).toBe(DEFAULT_TEXT);
  });
});

describe("cli.ts", () => {
  it("starts standalone, prints URLs and accounts as JSON, serves chat, stops on SIGINT", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "test/fake-grok/cli.ts", "--port", "0", "--accounts", "2"], { cwd: process.cwd(), stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const info = await new Promise<any>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`cli did not start: ${out}`)), 15_000);
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        if (out.includes("\n")) {
          clearTimeout(t);
          resolve(JSON.parse(out.split("\n")[0]!));
        }
      });
      child.on("exit", (code) => reject(new Error(`cli exited ${code}`)));
    });
    expect(info.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(info.gatewayUrl).toBe(`${info.url.replace("http", "ws")}/ws/mgw/`);
    expect(info.accounts).toHaveLength(2);
    const remote = { url: info.url } as FakeGrok;
    const fr = await frames(await newChat(remote, info.accounts[0]));
    expect(fr.map((f) => f.result?.response?.token ?? "").join("")).toBe(DEFAULT_TEXT);
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    child.kill("SIGINT");
    expect(await exited).toBe(0);
  }, 20_000);
});
