import mysql, { type RowDataPacket } from "mysql2/promise";
import { afterEach, describe, expect, it } from "vitest";
import { createStore } from "../../src/server/store/index.js";
import { MIGRATIONS, SCHEMA_VERSION, runMigrations } from "../../src/server/store/mysql-migrations.js";
import { MysqlStore, parseMysqlUrl } from "../../src/server/store/mysql-store.js";
import type { StoreChange } from "../../src/server/store/types.js";
import { storeFixture, runStoreContract, rec, tok } from "./contract.js";
import { MYSQL_HOST, MYSQL_PASSWORD, MYSQL_PORT, MYSQL_USER, createTestDatabase, uniqueName, type TestDatabase } from "./helpers.js";

runStoreContract("mysql", async () => {
  const db = await createTestDatabase();
  return storeFixture(() => createStore({ mode: "mysql", dataDir: "/nonexistent", databaseUrl: db.url, pollIntervalMs: 200 }), () => db.drop());
});

describe("mysql store specifics", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });
  async function database(): Promise<TestDatabase> {
    const db = await createTestDatabase();
    cleanups.push(() => db.drop());
    return db;
  }
  async function openStore(url: string, extra: Partial<ConstructorParameters<typeof MysqlStore>[0]> = {}): Promise<MysqlStore> {
    const s = new MysqlStore({ url, ...extra });
    await s.init();
    cleanups.unshift(() => s.close());
    return s;
  }

  it("parses DATABASE_URL with percent-encoded credentials", () => {
    expect(parseMysqlUrl("mysql://us%40er:p%3Ass@db.local:3307/grok")).toMatchObject({ host: "db.local", port: 3307, user: "us@er", password: "p:ss", database: "grok" });
    expect(parseMysqlUrl("mysql://root@127.0.0.1/")).toMatchObject({ port: 3306, database: "grok2api" });
    expect(parseMysqlUrl("mysql://u:p@h/db?ssl=true").ssl).toEqual({ rejectUnauthorized: true });
    expect(() => parseMysqlUrl("redis://x")).toThrow(/mysql:\/\//);
  });

  it("records the schema version and every migration", async () => {
    const db = await database();
    const s = await openStore(db.url);
    expect(s.migration).toMatchObject({ current: SCHEMA_VERSION, newerThanApp: false });
    expect(s.migration!.applied).toEqual(MIGRATIONS.map((m) => m.version));
    const c = await db.conn();
    const [rows] = await c.query<RowDataPacket[]>("SELECT version, name FROM g2a_schema_migrations ORDER BY version");
    expect(rows.map((r) => [r.version, r.name])).toEqual(MIGRATIONS.map((m) => [m.version, m.name]));
    const [tables] = await c.query<RowDataPacket[]>("SHOW TABLES");
    expect(tables.map((t) => Object.values(t)[0]).sort()).toEqual(
      ["g2a_accounts", "g2a_changes", "g2a_kv", "g2a_schema_migrations", "g2a_settings", "g2a_slot_locks", "g2a_slots"].sort(),
    );
    // accounts are keyed by sha256(token), token and JSON record stored, version bumped on writes
    const t = tok();
    await s.putAccounts([rec(t)]);
    await s.updateAccount(t, (r) => ({ ...r, note: "v2" }));
    const [acc] = await c.query<RowDataPacket[]>("SELECT token_hash, token, record, version FROM g2a_accounts");
    expect(acc[0]).toMatchObject({ token_hash: expect.stringMatching(/^[0-9a-f]{64}$/), token: t, version: 2 });
    expect(JSON.parse(acc[0]!.record).note).toBe("v2");
  });

  it("migrations are idempotent when run twice concurrently, and again later", async () => {
    const db = await database();
    const cfg = { host: MYSQL_HOST, port: MYSQL_PORT, user: MYSQL_USER, password: MYSQL_PASSWORD, database: db.name };
    const p1 = mysql.createPool(cfg);
    const p2 = mysql.createPool(cfg);
    cleanups.unshift(async () => {
      await p1.end();
      await p2.end();
    });
    const [r1, r2] = await Promise.all([runMigrations(p1), runMigrations(p2)]);
    expect([...r1.applied, ...r2.applied].sort()).toEqual(MIGRATIONS.map((m) => m.version));
    expect(r1.current).toBe(SCHEMA_VERSION);
    expect(r2.current).toBe(SCHEMA_VERSION);
    const again = await runMigrations(p1);
    expect(again.applied).toEqual([]);
    const [rows] = await p1.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM g2a_schema_migrations");
    expect(Number(rows[0]!.n)).toBe(MIGRATIONS.length);
    // and two whole stores starting together on a fresh database
    const db2 = await database();
    const [a, b] = await Promise.all([openStore(db2.url), openStore(db2.url)]);
    expect([...a.migration!.applied, ...b.migration!.applied].sort()).toEqual(MIGRATIONS.map((m) => m.version));
  });

  it("a migration interrupted half-way is completed on the next start", async () => {
    const db = await database();
    const c = await db.conn();
    // as if a process died after the first CREATE TABLE of migration 1, before recording it
    await c.query(MIGRATIONS[0]!.up[0]!);
    const s = await openStore(db.url);
    expect(s.migration!.applied).toEqual(MIGRATIONS.map((m) => m.version));
  });

  it("warns when the database was migrated by a newer app", async () => {
    const db = await database();
    const first = await openStore(db.url);
    await first.close();
    const c = await db.conn();
    await c.query("INSERT INTO g2a_schema_migrations (version, name, applied_at) VALUES (?, 'from the future', 0)", [SCHEMA_VERSION + 1]);
    const s = await openStore(db.url);
    expect(s.migration!.newerThanApp).toBe(true);
    expect(s.problems.join()).toMatch(/newer/);
  });

  it("creates the database when it does not exist", async () => {
    const name = uniqueName("g2a_test");
    cleanups.push(async () => {
      const a = await mysql.createConnection({ host: MYSQL_HOST, port: MYSQL_PORT, user: MYSQL_USER, password: MYSQL_PASSWORD });
      await a.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await a.end();
    });
    const url = `mysql://${MYSQL_USER}${MYSQL_PASSWORD ? ":" + encodeURIComponent(MYSQL_PASSWORD) : ""}@${MYSQL_HOST}:${MYSQL_PORT}/${name}`;
    const s = await openStore(url);
    await s.kvSet("k", "v");
    expect(await s.kvGet("k")).toBe("v");
  });

  it("change feed does not miss a transaction that commits after a later one", async () => {
    const db = await database();
    const s = await openStore(db.url, { pollIntervalMs: 2000 });
    const seen: StoreChange[] = [];
    s.onChange((ch) => seen.push(ch));
    const slow = await db.conn();
    const fast = await db.conn();
    await slow.beginTransaction();
    const ins = "INSERT INTO g2a_changes (kind, token, origin, created_at) VALUES ('accounts', ?, 'elsewhere', ?)";
    await slow.query(ins, ["tok-slow", Date.now()]);
    await fast.query(ins, ["tok-fast", Date.now()]);
    await s.poll();
    const tokens = () => seen.flatMap((ch) => (ch.kind === "accounts" && ch.tokens !== "all" ? ch.tokens : []));
    expect(tokens()).toContain("tok-fast");
    expect(tokens()).not.toContain("tok-slow");
    await slow.commit();
    await s.poll();
    expect(tokens()).toContain("tok-slow");
  });

  it("after a poll outage longer than the change-log retention allows, listeners reload everything", async () => {
    const db = await database();
    const s = await openStore(db.url, { pollIntervalMs: 2000 });
    const seen: StoreChange[] = [];
    s.onChange((ch) => seen.push(ch));
    (s as unknown as { feed: { lastPollOk: number } }).feed.lastPollOk = Date.now() - 6 * 60 * 1000;
    await s.poll();
    expect(seen).toEqual([{ kind: "settings" }, { kind: "accounts", tokens: "all" }]);
    seen.length = 0;
    await s.poll();
    expect(seen).toEqual([]);
  });

  it("own changes are not echoed back to this instance", async () => {
    const db = await database();
    const s = await openStore(db.url, { pollIntervalMs: 100 });
    const seen: StoreChange[] = [];
    s.onChange((ch) => seen.push(ch));
    await s.putAccounts([rec(tok())]);
    await new Promise((r) => setTimeout(r, 400));
    expect(seen).toEqual([]);
  });

  it("imports the original Grok2API tables once on first start", async () => {
    const db = await database();
    const c = await db.conn();
    await c.query(`CREATE TABLE grok_tokens (id INT AUTO_INCREMENT PRIMARY KEY, data JSON NOT NULL,
      updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`);
    await c.query(`CREATE TABLE grok_settings (id INT AUTO_INCREMENT PRIMARY KEY, data JSON NOT NULL,
      updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`);
    await c.query("INSERT INTO grok_tokens (data) VALUES (?)", [JSON.stringify({ ssoNormal: { "eyJ.legacy.a": { createdTime: 1, remainingQueries: 4, status: "active" } }, ssoSuper: {} })]);
    await c.query("INSERT INTO grok_settings (data) VALUES (?)", [JSON.stringify({ global: { admin_username: "boss" }, grok: { proxy_url: "" } })]);
    const logs: string[] = [];
    const s = await openStore(db.url, { log: (_l, m) => logs.push(m) });
    expect((await s.listAccounts()).map((r) => r.token)).toEqual(["eyJ.legacy.a"]);
    expect(await s.getSettings()).toEqual({ global: { admin_username: "boss" }, grok: { proxy_url: "" } });
    expect(logs.join("\n")).toMatch(/imported 1 account/);
    await s.deleteAccounts(["eyJ.legacy.a"]);
    await s.close();
    const again = await openStore(db.url);
    expect(await again.listAccounts()).toEqual([]); // not imported a second time
  });

  it("fails init() with a clear error when the server is unreachable", async () => {
    const s = new MysqlStore({ url: "mysql://root@127.0.0.1:1/x" });
    await expect(s.init()).rejects.toThrow(/MySQL connection to 127\.0\.0\.1:1 failed/);
  });
});
