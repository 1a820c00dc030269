import { afterEach, describe, expect, it } from "vitest";
import { newAccountRecord, type AccountRecord } from "../../src/server/core/account.js";
import {
  EXPORT_FORMAT,
  exportJson,
  exportLegacyTokenJson,
  importJson,
  importLegacyFromMysql,
  importLegacyFromRedis,
  importLegacySettings,
  importLegacyTokenJson,
  legacyTime,
  normalizeSsoToken,
  parseLegacySettingsToml,
  parseTokenList,
} from "../../src/server/store/legacy.js";
import { createTestDatabase, createTestRedis } from "./helpers.js";

const NOW = 1_750_000_000_000;

describe("normalizeSsoToken / parseTokenList", () => {
  it.each([
    ["eyJhbGc.abc.def", "eyJhbGc.abc.def"],
    ["sso=eyJhbGc.abc.def", "eyJhbGc.abc.def"],
    ["  sso=eyJ.a.b; sso-rw=eyJ.a.b; _ga=1  ", "eyJ.a.b"],
    ["eyJ.a.b; other=1", "eyJ.a.b"],
    ["sso-rw=eyJ.rw.x; sso=eyJ.real.y; foo=bar", "eyJ.real.y"],
    ["Cookie: sso=eyJ.h.z", "eyJ.h.z"],
    ["eyJ.a.b\r\n", "eyJ.a.b"],
    ["eyJ.a\0.b", "eyJ.a.b"],
    ["eyJ.a. b\t", "eyJ.a.b"],
    ['"eyJ.quoted.q"', "eyJ.quoted.q"],
    ["", ""],
    ["   ", ""],
    ["sso=", ""],
  ])("%j → %j", (raw, want) => {
    expect(normalizeSsoToken(raw)).toBe(want);
  });

  it("reads one cookie per line, skips blanks and comments, dedupes in order", () => {
    const text = ["# my accounts", "sso=eyJ.one.1", "", "   ", "eyJ.two.2; sso-rw=eyJ.two.2", "\teyJ.one.1\r", "# eyJ.commented.out", "eyJ.three.3,eyJ.four.4", "sso=eyJ.two.2"].join("\n");
    expect(parseTokenList(text)).toEqual(["eyJ.one.1", "eyJ.two.2", "eyJ.three.3", "eyJ.four.4"]);
    expect(parseTokenList("a\r\nb\rc\n")).toEqual(["a", "b", "c"]);
    expect(parseTokenList("")).toEqual([]);
  });
});

describe("original token.json", () => {
  const v13 = {
    ssoNormal: {
      "sso=eyJ.n1": { createdTime: 1_700_000_000_000, remainingQueries: 0, heavyremainingQueries: -1, status: "active", failedCount: 1, lastFailureTime: 1_700_000_100_000, lastFailureReason: "429 too many", exhaustedAt: 1_700_000_200_000, heavyExhaustedAt: null, tags: ["team-a", " "], note: "main" },
      "eyJ.n2": { createdTime: "1700000000", remainingQueries: -1, heavyremainingQueries: -1, status: "active", failedCount: 0, lastFailureTime: null, lastFailureReason: null, tags: [], note: "" },
      "eyJ.both": { createdTime: 1_600_000_000, status: "active" },
    },
    ssoSuper: {
      "eyJ.s1": { createdTime: 1_700_000_000_000, remainingQueries: 140, heavyremainingQueries: 20, status: "expired", failedCount: 3, lastFailureTime: 1_700_000_300_000, lastFailureReason: "401 Unauthorized", tags: [], note: "" },
      "eyJ.both": { createdTime: 1_600_000_000, status: "active" },
    },
  };

  it("maps the v1.x dict format field by field", () => {
    const recs = importLegacyTokenJson(v13, NOW);
    const by = Object.fromEntries(recs.map((r) => [r.token, r]));
    expect(Object.keys(by).sort()).toEqual(["eyJ.both", "eyJ.n1", "eyJ.n2", "eyJ.s1"]);
    expect(by["eyJ.n1"]).toMatchObject({
      tier: "basic",
      tierSource: "imported",
      status: "active",
      createdAt: 1_700_000_000_000,
      failCount: 1,
      tags: ["team-a"],
      note: "main",
      failures: [{ at: 1_700_000_100_000, kind: "upstream_error", message: "429 too many" }],
    });
    expect(by["eyJ.n1"]!.quota.fast).toEqual({ remaining: 0, total: null, confidence: "estimated", resetAt: 1_700_000_200_000 + 86_400_000, windowSeconds: null, syncedAt: null });
    expect(by["eyJ.n1"]!.quota.heavy).toBeUndefined();
    expect(by["eyJ.n2"]).toMatchObject({ createdAt: 1_700_000_000_000, quota: {}, failures: [] });
    expect(by["eyJ.s1"]).toMatchObject({ tier: "super", status: "dead", statusAt: 1_700_000_300_000, failCount: 3 });
    expect(by["eyJ.s1"]!.statusReason).toMatch(/401 Unauthorized/);
    expect(by["eyJ.s1"]!.failures[0]!.kind).toBe("unauthorized");
    expect(by["eyJ.s1"]!.quota.fast!.remaining).toBe(140);
    expect(by["eyJ.s1"]!.quota.heavy!.remaining).toBe(20);
    expect(by["eyJ.both"]!.tier).toBe("super"); // listed in both pools: the higher tier wins
    expect(by["eyJ.both"]!.createdAt).toBe(1_600_000_000_000); // seconds → ms
  });

  it("reads the oldest ('sso') and the newest (list-based ssoBasic) generations", () => {
    expect(importLegacyTokenJson({ sso: { "eyJ.old": { createdTime: 1 } }, ssoSuper: {} }, NOW)[0]).toMatchObject({ token: "eyJ.old", tier: "basic" });
    const recs = importLegacyTokenJson(
      {
        ssoBasic: [
          { token: "sso=eyJ.b1", status: "active", quota: 80, created_at: 1_700_000_000_000, last_used_at: 1_700_000_500_000, use_count: 7, fail_count: 0, tags: ["x"], note: "n" },
          { token: "eyJ.b2", status: "cooling", quota: 0 },
          { token: "eyJ.b3", status: "disabled" },
          { token: "eyJ.b4", status: "expired", last_fail_at: 1_700_000_000_001, last_fail_reason: "blocked" },
          "eyJ.b5",
          { note: "no token: skipped" },
        ],
        ssoSuper: [{ token: "eyJ.s", quota: 140 }],
      },
      NOW,
    );
    const by = Object.fromEntries(recs.map((r) => [r.token, r]));
    expect(by["eyJ.b1"]).toMatchObject({ tier: "basic", useCount: 7, lastUsedAt: 1_700_000_500_000, tags: ["x"], note: "n" });
    expect(by["eyJ.b1"]!.quota.fast!.remaining).toBe(80);
    expect(by["eyJ.b2"]).toMatchObject({ status: "active" });
    expect(by["eyJ.b2"]!.quota.fast!.remaining).toBe(0);
    expect(by["eyJ.b3"]!.status).toBe("disabled");
    expect(by["eyJ.b4"]).toMatchObject({ status: "dead" });
    expect(by["eyJ.b4"]!.statusReason).toMatch(/blocked/);
    expect(by["eyJ.b5"]!.createdAt).toBe(NOW);
    expect(by["eyJ.s"]!.tier).toBe("super");
    expect(recs).toHaveLength(6);
  });

  it("rejects what is not a token.json", () => {
    expect(() => importLegacyTokenJson([], NOW)).toThrow(/object/);
    expect(() => importLegacyTokenJson({ ssoNormal: 5 }, NOW)).toThrow(/pool/);
  });

  it("legacyTime accepts ms, s, numeric strings and ISO dates", () => {
    expect(legacyTime(1_700_000_000_000)).toBe(1_700_000_000_000);
    expect(legacyTime(1_700_000_000)).toBe(1_700_000_000_000);
    expect(legacyTime("1700000000.5")).toBe(1_700_000_000_500);
    expect(legacyTime("2024-01-02T03:04:05Z")).toBe(Date.parse("2024-01-02T03:04:05Z"));
    expect(legacyTime(null)).toBeNull();
    expect(legacyTime(-1)).toBeNull();
    expect(legacyTime("soon")).toBeNull();
  });

  it("exports back to the original shape and round-trips", () => {
    const recs = importLegacyTokenJson(v13, NOW);
    const out = exportLegacyTokenJson(recs);
    expect(Object.keys(out.ssoNormal).sort()).toEqual(["eyJ.n1", "eyJ.n2"]);
    expect(Object.keys(out.ssoSuper).sort()).toEqual(["eyJ.both", "eyJ.s1"]);
    expect(out.ssoNormal["eyJ.n1"]).toEqual({
      createdTime: 1_700_000_000_000,
      remainingQueries: 0,
      heavyremainingQueries: -1,
      status: "active",
      failedCount: 1,
      lastFailureTime: 1_700_000_100_000,
      lastFailureReason: "429 too many",
      exhaustedAt: 1_700_000_200_000,
      heavyExhaustedAt: null,
      tags: ["team-a"],
      note: "main",
    });
    expect(out.ssoSuper["eyJ.s1"]).toMatchObject({ status: "expired", remainingQueries: 140, heavyremainingQueries: 20 });
    const back = importLegacyTokenJson(JSON.parse(JSON.stringify(out)), NOW);
    const key = (r: AccountRecord) => [r.token, r.tier, r.status, r.createdAt, r.failCount, r.note, r.tags.join(), r.quota.fast?.remaining ?? null, r.quota.heavy?.remaining ?? null];
    expect(back.map(key).sort()).toEqual(recs.map(key).sort());
  });
});

describe("settings", () => {
  it("passes the original {global, grok} sections through", () => {
    const doc = { global: { api_keys: ["a"], admin_password: "x", batch_save_interval: 1.0 }, grok: { proxy_url: "", retry_status_codes: [401, 429], cf_clearance: "" } };
    const out = importLegacySettings(doc);
    expect(out).toEqual(doc);
    expect(out.global).not.toBe(doc.global);
    expect(importLegacySettings({ global: {}, stray: 1 })).toEqual({ global: { stray: 1 } });
    expect(() => importLegacySettings("x")).toThrow();
  });

  it("parses the original setting.toml", () => {
    const toml = `# Grok2API settings
[global]
api_keys = []             # none yet
admin_username = "admin"
admin_password = 'p@ss "quoted"'
base_url = "http://localhost:8000"
log_level = "INFO"
batch_save_interval = 1.0
big = 1_000
neg = -3
hex = 0xff

[grok]
proxy_url = ""
cf_clearance = "cf_clearance=abc\\u00e9\\n"
retry_status_codes = [
  401,
  429, # trailing comma next
]
filtered_tags = "xaiartifact,xai:tool_usage_card,grok:render"
temporary = true
show_thinking = false
nested = { a = 1, b = "two" }
"quoted key" = "ok"
multi = """
line1
line2"""
`;
    expect(parseLegacySettingsToml(toml)).toEqual({
      global: { api_keys: [], admin_username: "admin", admin_password: 'p@ss "quoted"', base_url: "http://localhost:8000", log_level: "INFO", batch_save_interval: 1, big: 1000, neg: -3, hex: 255 },
      grok: {
        proxy_url: "",
        cf_clearance: "cf_clearance=abcé\n",
        retry_status_codes: [401, 429],
        filtered_tags: "xaiartifact,xai:tool_usage_card,grok:render",
        temporary: true,
        show_thinking: false,
        nested: { a: 1, b: "two" },
        "quoted key": "ok",
        multi: "line1\nline2",
      },
    });
    expect(() => parseLegacySettingsToml("[global]\nkey = \nother = 1")).toThrow(/line 2/);
    expect(() => parseLegacySettingsToml('[g]\nk = "unterminated')).toThrow(/line 2/);
  });
});

describe("our export document and importJson", () => {
  const a = { ...newAccountRecord("eyJ.exp.a", 1000, "super", "manual"), note: "n", tags: ["t"], useCount: 4 };
  const b = newAccountRecord("eyJ.exp.b", 2000);
  const settings = { global: { api_key: "sk" }, grok: { proxy_url: "" } };

  it("exports a versioned document and imports it back unchanged", () => {
    const doc = exportJson([a, b], settings, NOW);
    expect(doc).toMatchObject({ format: EXPORT_FORMAT, version: 1, exportedAt: new Date(NOW).toISOString() });
    const viaText = importJson(JSON.stringify(doc));
    expect(viaText.format).toBe("grok2api-desktop");
    expect(viaText.accounts).toEqual([a, b]);
    expect(viaText.settings).toEqual(settings);
    expect(importJson(doc).accounts).toEqual([a, b]);
    expect(() => importJson({ ...doc, version: 2 })).toThrow(/version 2/);
    expect(() => importJson({ ...doc, accounts: [{ note: "x" }] })).toThrow(/item 0/);
  });

  it("accepts the original token.json, a token list (text or JSON), records and settings", () => {
    const legacy = importJson(JSON.stringify({ ssoNormal: { "sso=eyJ.l.1": { createdTime: 1 } }, ssoSuper: {} }), NOW);
    expect(legacy.format).toBe("legacy-token-json");
    expect(legacy.accounts.map((r) => r.token)).toEqual(["eyJ.l.1"]);
    expect(legacy.settings).toBeNull();

    const text = importJson("# list\nsso=eyJ.t.1\n\neyJ.t.2; x=y\neyJ.t.1\n", NOW);
    expect(text.format).toBe("token-list");
    expect(text.accounts).toEqual([newAccountRecord("eyJ.t.1", NOW), newAccountRecord("eyJ.t.2", NOW)]);

    expect(importJson(["sso=eyJ.j.1", "eyJ.j.1", "eyJ.j.2"], NOW).accounts.map((r) => r.token)).toEqual(["eyJ.j.1", "eyJ.j.2"]);
    const records = importJson([{ token: "sso=eyJ.r.1", tier: "heavy", note: "x" }], NOW);
    expect(records.format).toBe("record-list");
    expect(records.accounts[0]).toMatchObject({ token: "eyJ.r.1", tier: "heavy", note: "x", status: "active" });

    const s = importJson({ global: { a: 1 }, grok: {} });
    expect(s).toEqual({ format: "legacy-settings", accounts: [], settings: { global: { a: 1 }, grok: {} } });
    expect(importJson("\uFEFF[]").accounts).toEqual([]);
  });

  it("rejects broken input with a clear message", () => {
    expect(() => importJson("{not json")).toThrow(/not valid JSON/);
    expect(() => importJson(42)).toThrow(/expected/);
    expect(() => importJson({ hello: "world" })).toThrow(/unrecognised/);
  });
});

describe("readers for the original's MySQL tables and Redis keys (real servers)", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  it("importLegacyFromMysql reads the newest grok_tokens / grok_settings row", async () => {
    const db = await createTestDatabase();
    cleanups.push(() => db.drop());
    const c = await db.conn();
    expect(await importLegacyFromMysql(c, NOW)).toEqual({ accounts: [], settings: null, found: { tokens: false, settings: false } });
    // the original's exact DDL
    for (const table of ["grok_tokens", "grok_settings"]) {
      await c.query(`CREATE TABLE IF NOT EXISTS ${table} (
        id INT AUTO_INCREMENT PRIMARY KEY,
        data JSON NOT NULL,
        updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
        created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`);
    }
    await c.query("INSERT INTO grok_tokens (data) VALUES (?)", [JSON.stringify({ ssoNormal: { "eyJ.stale": {} }, ssoSuper: {} })]);
    await c.query("INSERT INTO grok_tokens (data) VALUES (?)", [JSON.stringify({ ssoNormal: { "eyJ.m.1": { createdTime: 1_700_000_000_000, remainingQueries: 9 } }, ssoSuper: { "eyJ.m.2": { status: "expired" } } })]);
    const got = await importLegacyFromMysql(c, NOW);
    expect(got.found).toEqual({ tokens: true, settings: false });
    expect(got.settings).toBeNull();
    expect(got.accounts.map((r) => [r.token, r.tier, r.status])).toEqual([
      ["eyJ.m.1", "basic", "active"],
      ["eyJ.m.2", "super", "dead"],
    ]);
    await c.query("INSERT INTO grok_settings (data) VALUES (?)", [JSON.stringify({ global: { admin_username: "admin" }, grok: { proxy_url: "http://p" } })]);
    expect((await importLegacyFromMysql(c, NOW)).settings).toEqual({ global: { admin_username: "admin" }, grok: { proxy_url: "http://p" } });
  });

  it("importLegacyFromRedis reads grok:tokens / grok:settings", async () => {
    const r = await createTestRedis(["grok:tokens", "grok:settings"]);
    cleanups.push(() => r.cleanup());
    expect(await r.client.exists("grok:tokens", "grok:settings")).toBe(0);
    expect((await importLegacyFromRedis(r.client, NOW)).found).toEqual({ tokens: false, settings: false });
    await r.client.set("grok:tokens", JSON.stringify({ sso: { "eyJ.r.1": { createdTime: 1_700_000_000 } }, ssoSuper: { "eyJ.r.2": {} } }));
    await r.client.set("grok:settings", JSON.stringify({ global: { api_keys: [] }, grok: { cf_clearance: "x" } }));
    const got = await importLegacyFromRedis(r.client, NOW);
    expect(got.found).toEqual({ tokens: true, settings: true });
    expect(got.accounts.map((x) => [x.token, x.tier, x.createdAt])).toEqual([
      ["eyJ.r.1", "basic", 1_700_000_000_000],
      ["eyJ.r.2", "super", NOW],
    ]);
    expect(got.settings).toEqual({ global: { api_keys: [] }, grok: { cf_clearance: "x" } });
    await r.client.set("grok:tokens", "{broken");
    await expect(importLegacyFromRedis(r.client, NOW)).rejects.toThrow(/grok:tokens/);
  });
});
