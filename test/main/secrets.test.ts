import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { newerDataFound } from "../../src/main/data-version.js";
import { DESKTOP_SETTINGS_FILE, DesktopSettingsFile, parseDesktopSettings } from "../../src/main/desktop-settings.js";
import { SEALED_PREFIX, codecFor, safeStorageCodec, unreadableSealedFiles } from "../../src/main/secret-codec.js";
import { newAccountRecord } from "../../src/server/core/account.js";
import { FileStore } from "../../src/server/store/index.js";
import { FakeSecretBox } from "./fake-platform.js";
import { fakeSso } from "./helpers.js";

const tmp = () => mkdtempSync(path.join(os.tmpdir(), "g2a-seal-"));

describe("secrets at rest (safeStorage codec on the file store)", () => {
  it("seals every data file; nothing secret is readable on disk; the same keychain reads it back", async () => {
    const dir = tmp();
    const box = new FakeSecretBox();
    const codec = codecFor(box)!;
    const sso = fakeSso(1);
    const a = new FileStore({ dataDir: dir, codec });
    await a.init();
    await a.putAccounts([newAccountRecord(sso, Date.now())]);
    await a.saveSettings({ grok: { cf_clearance: "clearance-secret", api_key: "sk-secret" } });
    await a.kvSet("admin:password_hash", "scrypt$hash");
    await a.close();
    for (const f of ["accounts.json", "settings.json", "kv.json"]) {
      const text = readFileSync(path.join(dir, f), "utf8");
      expect(text.startsWith(SEALED_PREFIX), f).toBe(true);
      for (const secret of [sso, "clearance-secret", "sk-secret", "scrypt$hash"]) expect(text).not.toContain(secret);
    }
    const b = new FileStore({ dataDir: dir, codec: safeStorageCodec(box) });
    await b.init();
    expect((await b.getAccount(sso))?.token).toBe(sso);
    expect((await b.getSettings()).grok).toMatchObject({ cf_clearance: "clearance-secret" });
    expect(await b.kvGet("admin:password_hash")).toBe("scrypt$hash");
    expect(b.problems).toEqual([]);
    await b.close();
  });

  it("plain files from before are read and sealed at their next write", async () => {
    const dir = tmp();
    const plain = new FileStore({ dataDir: dir });
    await plain.init();
    await plain.putAccounts([newAccountRecord("plain-token-0123456789", Date.now())]);
    await plain.close();
    expect(readFileSync(path.join(dir, "accounts.json"), "utf8")).toContain("plain-token-0123456789");
    const sealed = new FileStore({ dataDir: dir, codec: codecFor(new FakeSecretBox())! });
    await sealed.init();
    expect(await sealed.getAccount("plain-token-0123456789")).not.toBeNull();
    await sealed.putAccounts([newAccountRecord("second-token-0123456789", Date.now())]);
    await sealed.close();
    expect(readFileSync(path.join(dir, "accounts.json"), "utf8").startsWith(SEALED_PREFIX)).toBe(true);
  });

  it("a file another keychain sealed is kept aside (never deleted) and reported", async () => {
    const dir = tmp();
    const a = new FileStore({ dataDir: dir, codec: codecFor(new FakeSecretBox())! });
    await a.init();
    await a.putAccounts([newAccountRecord("t-0123456789abcdef", Date.now())]);
    await a.close();
    const other = codecFor(new FakeSecretBox())!;
    expect(unreadableSealedFiles(dir, other)).toEqual(["accounts.json"]);
    expect(unreadableSealedFiles(dir, null)).toEqual(["accounts.json"]);
    const b = new FileStore({ dataDir: dir, codec: other });
    await b.init();
    expect(b.problems.join(" ")).toMatch(/accounts\.json could not be read \(could not be decoded/);
    expect(readdirSync(dir).some((f) => f.startsWith("accounts.json.corrupt-"))).toBe(true);
    await b.close();
  });

  it("no keychain (or only Linux's basic_text fallback): no codec, plain files as in the headless server", () => {
    expect(codecFor(null)).toBeNull();
    expect(codecFor(new FakeSecretBox(false))).toBeNull();
  });
});

describe("newer data", () => {
  it("names each file written by a newer version (sealed files too)", () => {
    const dir = tmp();
    const codec = codecFor(new FakeSecretBox())!;
    writeFileSync(path.join(dir, "settings.json"), codec.encode(JSON.stringify({ _meta: { version: 5 } })));
    writeFileSync(path.join(dir, "accounts.json"), JSON.stringify({ version: 2, accounts: [] }));
    writeFileSync(path.join(dir, "kv.json"), JSON.stringify({ version: 1, entries: {} }));
    expect(newerDataFound(dir, { settings: 1, accounts: 1, kv: 1 }, codec)).toEqual(["settings.json is at version 5 (this app knows 1)", "accounts.json is at version 2 (this app knows 1)"]);
    expect(newerDataFound(dir, { settings: 5, accounts: 2, kv: 1 }, codec)).toEqual([]);
    expect(newerDataFound(tmp(), { settings: 1, accounts: 1, kv: 1 })).toEqual([]);
  });
});

describe("desktop settings file", () => {
  it("defaults, round trip, and a broken file kept aside", () => {
    const dir = tmp();
    const f = new DesktopSettingsFile(dir);
    expect(f.value).toMatchObject({ upstream: "chromium", startAtLogin: null, requestsToday: null, partitions: {}, notifications: { enabled: true } });
    f.update((s) => ({ ...s, upstream: "server", startAtLogin: true }));
    expect(new DesktopSettingsFile(dir).value).toMatchObject({ upstream: "server", startAtLogin: true });
    writeFileSync(path.join(dir, DESKTOP_SETTINGS_FILE), "{nope");
    expect(new DesktopSettingsFile(dir).value.upstream).toBe("chromium");
    expect(readdirSync(dir).some((x) => x.startsWith(`${DESKTOP_SETTINGS_FILE}.corrupt-`))).toBe(true);
  });

  it("keeps only well-formed values (a partition must be a sign-in partition under a token hash)", () => {
    const s = parseDesktopSettings({ upstream: "evil", startAtLogin: "yes", partitions: { ["a".repeat(24)]: "persist:grok2api-signin-1", raw_token: "persist:grok2api-signin-2", ["b".repeat(24)]: "persist:other" }, notifications: { enabled: "no" } });
    expect(s.upstream).toBe("chromium");
    expect(s.startAtLogin).toBeNull();
    expect(s.partitions).toEqual({ ["a".repeat(24)]: "persist:grok2api-signin-1" });
    expect(s.notifications.enabled).toBe(true);
    mkdirSync(tmp(), { recursive: true });
  });
});
