import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createStore } from "../../src/server/store/index.js";
import type { Store } from "../../src/server/store/types.js";
import { runStoreContract, rec, storeFixture, tok } from "./contract.js";
import { tempDir } from "./helpers.js";

type LogLine = { level: string; msg: string };

function openFile(dir: string, logs?: LogLine[]): Promise<Store> {
  return createStore({ mode: "file", dataDir: dir, log: (level, msg) => logs?.push({ level, msg }) });
}

runStoreContract("file", async () => {
  const tmp = await tempDir();
  return storeFixture(() => openFile(tmp.dir), () => tmp.remove());
});

describe("file store specifics", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });
  async function dir(): Promise<string> {
    const t = await tempDir();
    cleanups.push(t.remove);
    return t.dir;
  }
  async function opened(d: string, logs?: LogLine[]): Promise<Store> {
    const s = await openFile(d, logs);
    await s.init();
    cleanups.unshift(() => s.close());
    return s;
  }

  it("writes the three JSON files atomically (no temp files left, owner-only permissions)", async () => {
    const d = await dir();
    const s = await opened(d);
    const t = tok();
    await Promise.all([
      s.saveSettings({ global: { a: 1 } }),
      s.putAccounts([rec(t)]),
      s.kvSet("k", "v"),
      ...Array.from({ length: 20 }, (_, i) => s.updateAccount(t, (r) => ({ ...r, useCount: i }))),
    ]);
    const files = (await readdir(d)).sort();
    expect(files.filter((f) => f.includes(".tmp-"))).toEqual([]);
    expect(files).toEqual(expect.arrayContaining(["accounts.json", "kv.json", "settings.json"]));
    const accounts = JSON.parse(await readFile(path.join(d, "accounts.json"), "utf8"));
    expect(accounts.format).toBe("grok2api-desktop-accounts");
    expect(accounts.accounts[0].token).toBe(t);
    expect(JSON.parse(await readFile(path.join(d, "settings.json"), "utf8"))).toEqual({ global: { a: 1 } });
    expect(JSON.parse(await readFile(path.join(d, "kv.json"), "utf8")).entries.k.value).toBe("v");
    if (process.platform !== "win32") expect((await stat(path.join(d, "accounts.json"))).mode & 0o777).toBe(0o600);
  });

  it.each(["accounts.json", "settings.json", "kv.json"])("a corrupt %s is kept as a backup, reported, and the store continues empty", async (name) => {
    const d = await dir();
    const garbage = '{"accounts": [ {"token": "abc", ';
    await writeFile(path.join(d, name), garbage);
    const logs: LogLine[] = [];
    const s = await opened(d, logs);
    const backups = (await readdir(d)).filter((f) => f.startsWith(`${name}.corrupt-`));
    expect(backups).toHaveLength(1);
    expect(await readFile(path.join(d, backups[0]!), "utf8")).toBe(garbage);
    expect(s.problems!.some((p) => p.includes(name) && p.includes(backups[0]!))).toBe(true);
    expect(logs.some((l) => l.level === "error" && l.msg.includes(name))).toBe(true);
    expect(await s.listAccounts()).toEqual([]);
    expect(await s.getSettings()).toEqual({});
    // still fully usable, and the backup is not touched by new writes
    await s.putAccounts([rec(tok())]);
    await s.saveSettings({ global: {} });
    await s.kvSet("a", "b");
    expect(await readFile(path.join(d, backups[0]!), "utf8")).toBe(garbage);
  });

  it("a well-formed file of the wrong shape is also moved aside, never reset silently", async () => {
    const d = await dir();
    await writeFile(path.join(d, "settings.json"), '["not", "sections"]');
    const s = await opened(d);
    expect((await readdir(d)).some((f) => f.startsWith("settings.json.corrupt-"))).toBe(true);
    expect(s.problems).toHaveLength(1);
  });

  it("accounts without a usable token are reported; the full file is copied aside first", async () => {
    const d = await dir();
    const good = rec(tok());
    await writeFile(path.join(d, "accounts.json"), JSON.stringify({ accounts: [good, { note: "no token" }] }));
    const s = await opened(d);
    expect(await s.listAccounts()).toEqual([good]);
    expect(s.problems!.join()).toMatch(/1 entry/);
    expect((await readdir(d)).some((f) => f.startsWith("accounts.json.corrupt-"))).toBe(true);
  });

  it("keeps fields it does not know (written by a newer version) through load and rewrite", async () => {
    const d = await dir();
    const t = tok();
    await writeFile(path.join(d, "accounts.json"), JSON.stringify({ accounts: [{ ...rec(t), futureField: { proxy: "socks5://p" } }] }));
    const s = await opened(d);
    expect(((await s.getAccount(t)) as unknown as Record<string, unknown>).futureField).toEqual({ proxy: "socks5://p" });
    await s.updateAccount(t, (r) => ({ ...r, note: "touched" }));
    const onDisk = JSON.parse(await readFile(path.join(d, "accounts.json"), "utf8")).accounts[0];
    expect(onDisk).toMatchObject({ note: "touched", futureField: { proxy: "socks5://p" } });
  });

  it("imports the original token.json on first start and leaves it untouched", async () => {
    const d = await dir();
    const legacy = {
      ssoNormal: {
        "sso=eyJ.normal.one": { createdTime: 1_700_000_000_000, remainingQueries: 12, heavyremainingQueries: -1, status: "active", failedCount: 0, lastFailureTime: null, lastFailureReason: null, tags: ["a"], note: "first" },
      },
      ssoSuper: {
        "eyJ.super.two": { createdTime: "1700000001", remainingQueries: -1, heavyremainingQueries: 3, status: "expired", failedCount: 3, lastFailureTime: 1_700_000_500_000, lastFailureReason: "401 unauthorized", tags: [], note: "" },
      },
    };
    const text = JSON.stringify(legacy, null, 2);
    await writeFile(path.join(d, "token.json"), text);
    const logs: LogLine[] = [];
    const s = await opened(d, logs);
    const list = await s.listAccounts();
    expect(list.map((r) => r.token)).toEqual(["eyJ.normal.one", "eyJ.super.two"]);
    expect(list[0]).toMatchObject({ tier: "basic", tierSource: "imported", note: "first", tags: ["a"], createdAt: 1_700_000_000_000 });
    expect(list[0]!.quota.fast).toMatchObject({ remaining: 12, confidence: "estimated" });
    expect(list[1]).toMatchObject({ tier: "super", status: "dead", createdAt: 1_700_000_001_000, failCount: 3 });
    expect(list[1]!.statusReason).toContain("401 unauthorized");
    expect(await readFile(path.join(d, "token.json"), "utf8")).toBe(text);
    expect(JSON.parse(await readFile(path.join(d, "accounts.json"), "utf8")).accounts).toHaveLength(2);
    expect(logs.some((l) => l.level === "info" && /imported 2 account/.test(l.msg))).toBe(true);

    // accounts.json exists now: a restart does not import again
    await s.deleteAccounts(["eyJ.normal.one"]);
    await s.close();
    const again = await opened(d);
    expect((await again.listAccounts()).map((r) => r.token)).toEqual(["eyJ.super.two"]);
  });

  it("imports the original setting.toml when settings.json does not exist", async () => {
    const d = await dir();
    await writeFile(
      path.join(d, "setting.toml"),
      ['[global]', 'api_keys = []', 'admin_username = "admin"', "", "[grok]", 'proxy_url = ""', "temporary = true", "retry_status_codes = [401, 429]", "stream_chunk_timeout = 120"].join("\n"),
    );
    const s = await opened(d);
    expect(await s.getSettings()).toEqual({
      global: { api_keys: [], admin_username: "admin" },
      grok: { proxy_url: "", temporary: true, retry_status_codes: [401, 429], stream_chunk_timeout: 120 },
    });
  });

  it("an unreadable token.json is reported and left alone", async () => {
    const d = await dir();
    await writeFile(path.join(d, "token.json"), "{oops");
    const s = await opened(d);
    expect(s.problems!.join()).toMatch(/token\.json/);
    expect(await readFile(path.join(d, "token.json"), "utf8")).toBe("{oops");
    expect(await s.listAccounts()).toEqual([]);
  });

  it("removes temp files of a crashed writer and reports another live process on the same dir", async () => {
    const d = await dir();
    await writeFile(path.join(d, "accounts.json.tmp-999999999-1"), "partial");
    await writeFile(path.join(d, ".grok2api-store.lock"), JSON.stringify({ pid: process.ppid, startedAt: 1 }));
    const s = await opened(d);
    expect((await readdir(d)).some((f) => f.includes(".tmp-"))).toBe(false);
    expect(s.problems!.join()).toMatch(new RegExp(`process ${process.ppid}`));
    await s.close();
    // our own lock is removed on close
    expect((await readdir(d)).includes(".grok2api-store.lock")).toBe(false);
  });

  it("a stale lock of a dead process is not a problem", async () => {
    const d = await dir();
    await writeFile(path.join(d, ".grok2api-store.lock"), JSON.stringify({ pid: 999999999, startedAt: 1 }));
    const s = await opened(d);
    expect(s.problems).toEqual([]);
  });
});
