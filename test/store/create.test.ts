import { describe, expect, it } from "vitest";
import { FileStore, createStore, modeOfUrl, parseStorageMode, redactUrl } from "../../src/server/store/index.js";
import { MysqlStore } from "../../src/server/store/mysql-store.js";
import { RedisStore } from "../../src/server/store/redis-store.js";

describe("parseStorageMode", () => {
  it.each([
    ["file", "file"],
    ["FILE", "file"],
    ["MySQL", "mysql"],
    [" REDIS ", "redis"],
    ["", "file"],
    [undefined, "file"],
  ] as const)("%j → %s", (v, want) => {
    expect(parseStorageMode(v)).toBe(want);
  });

  it.each(["postgres", "sqlite", "auto", "file2"])("rejects %j clearly", (v) => {
    expect(() => parseStorageMode(v)).toThrow(/STORAGE_MODE must be one of file, mysql, redis.*got "/);
  });
});

describe("createStore", () => {
  it("builds the backend the mode names", async () => {
    expect(await createStore({ mode: "file", dataDir: "/tmp/x" })).toBeInstanceOf(FileStore);
    expect(await createStore({ mode: "mysql", dataDir: "/tmp/x", databaseUrl: "mysql://u:p@h:3306/db" })).toBeInstanceOf(MysqlStore);
    expect(await createStore({ mode: "redis", dataDir: "/tmp/x", databaseUrl: "rediss://h:6380/1" })).toBeInstanceOf(RedisStore);
    expect((await createStore({ mode: "redis", dataDir: "/tmp/x", databaseUrl: "redis://h" })).mode).toBe("redis");
  });

  it("infers the mode from the URL when none is given, else file", async () => {
    expect((await createStore({ dataDir: "/tmp/x" })).mode).toBe("file");
    expect((await createStore({ dataDir: "/tmp/x", databaseUrl: "mysql://h/db" })).mode).toBe("mysql");
    expect((await createStore({ dataDir: "/tmp/x", databaseUrl: "redis://h/0" })).mode).toBe("redis");
  });

  it("needs DATABASE_URL for mysql and redis", async () => {
    await expect(createStore({ mode: "mysql", dataDir: "/tmp/x" })).rejects.toThrow(/STORAGE_MODE=mysql needs DATABASE_URL, e\.g\. mysql:\/\//);
    await expect(createStore({ mode: "redis", dataDir: "/tmp/x", databaseUrl: "  " })).rejects.toThrow(/STORAGE_MODE=redis needs DATABASE_URL/);
  });

  it("refuses a mode/URL mismatch and never shows the password", async () => {
    const msg = await createStore({ mode: "mysql", dataDir: "/tmp/x", databaseUrl: "redis://admin:s3cret@h:6379/0" }).then(() => "", (e: unknown) => (e as Error).message);
    expect(msg).toMatch(/STORAGE_MODE=mysql but DATABASE_URL is a redis URL/);
    expect(msg).not.toContain("s3cret");
    await expect(createStore({ mode: "redis", dataDir: "/tmp/x", databaseUrl: "mysql://h/db" })).rejects.toThrow(/set STORAGE_MODE=mysql/);
    await expect(createStore({ mode: "mysql", dataDir: "/tmp/x", databaseUrl: "postgres://h/db" })).rejects.toThrow(/is not a mysql URL/);
  });

  it("file mode ignores a DATABASE_URL with a warning", async () => {
    const logs: string[] = [];
    const s = await createStore({ mode: "file", dataDir: "/tmp/x", databaseUrl: "mysql://u:pw@h/db", log: (l, m) => logs.push(`${l} ${m}`) });
    expect(s.mode).toBe("file");
    expect(logs).toEqual(["warn STORAGE_MODE is file: DATABASE_URL (mysql://u:***@h/db) is ignored"]);
  });

  it("helpers", () => {
    expect(modeOfUrl("MariaDB://h/db")).toBe("mysql");
    expect(modeOfUrl("rediss://h")).toBe("redis");
    expect(modeOfUrl("http://h")).toBeNull();
    expect(redactUrl("redis://:pw@h:1/0")).toBe("redis://***@h:1/0");
    expect(redactUrl("redis://h:1/0")).toBe("redis://h:1/0");
  });
});
