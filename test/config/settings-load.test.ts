import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SettingsService } from "../../src/server/config/settings.js";
import { createStore } from "../../src/server/store/index.js";
import type { Store } from "../../src/server/store/types.js";

/** Stored settings that no longer validate must not stop the server, and must not be lost. */
let dir: string;
let store: Store;
afterEach(async () => {
  await store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function storeWith(grok: Record<string, unknown>): Promise<Store> {
  dir = mkdtempSync(path.join(tmpdir(), "g2a-settings-"));
  store = await Promise.resolve(createStore({ mode: "file", dataDir: dir, importLegacy: false }));
  await store.init();
  await store.saveSettings({ grok, global: {} });
  return store;
}

describe("SettingsService with invalid stored values", () => {
  it("loads with defaults for the invalid keys, reports them, keeps the stored values", async () => {
    const s = new SettingsService(await storeWith({ proxy_url: "ftp://user:pw@host", stream_chunk_timeout: "soon", max_attempts: 5 }));
    await s.load();
    expect(s.value.grok.proxy_url).toBe("");
    expect(s.value.grok.stream_chunk_timeout).toBe(120);
    expect(s.value.grok.max_attempts).toBe(5);
    expect(s.invalid.map((i) => i.split(":")[0])).toEqual(expect.arrayContaining(["grok.proxy_url", "grok.stream_chunk_timeout"]));
    expect(s.invalid.join(" ")).not.toContain("pw");
    await s.update({ grok: { max_attempts: 4 } }); // an unrelated save keeps the stored values
    const stored = await store.getSettings();
    expect(stored.grok!.proxy_url).toBe("ftp://user:pw@host");
    expect(stored.grok!.stream_chunk_timeout).toBe("soon");
    expect(stored.grok!.max_attempts).toBe(4);
  });

  it("an update of the invalid key itself must validate; a valid value clears the report", async () => {
    const s = new SettingsService(await storeWith({ proxy_url: "ftp://host" }));
    await s.load();
    await expect(s.update({ grok: { proxy_url: "gopher://x" } })).rejects.toMatchObject({ status: 400, param: "grok.proxy_url" });
    await s.update({ grok: { proxy_url: "socks5://127.0.0.1:1080" } });
    expect(s.invalid).toEqual([]);
    expect(s.value.grok.proxy_url).toBe("socks5://127.0.0.1:1080");
  });
});
