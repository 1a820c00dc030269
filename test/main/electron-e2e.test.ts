/**
 * The desktop app end to end in a real Electron, driven by Playwright's Electron driver
 * (playwright-core `_electron`). Runs wherever an Electron binary exists (ELECTRON_PATH, or the
 * `electron` package with its download done); on machines without one — like this project's CI,
 * where the binary cannot be downloaded — it is reported as skipped, with the reason in its name.
 */
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "../..");

function electronBinary(): string | null {
  if (process.env.ELECTRON_PATH && existsSync(process.env.ELECTRON_PATH)) return process.env.ELECTRON_PATH;
  // what require("electron") returns, read without requiring it (that would try to download the binary)
  try {
    const dir = path.dirname(createRequire(import.meta.url).resolve("electron/package.json"));
    const rel = readFileSync(path.join(dir, "path.txt"), "utf8").trim();
    const p = path.join(dir, "dist", rel);
    return existsSync(p) ? p : null;
  } catch {
    return null; // no path.txt: the package is installed, its binary download never ran
  }
}

const exe = electronBinary();
const title = exe ? "Electron end to end" : "Electron end to end — SKIPPED here: no Electron binary (the electron package's download never ran; set ELECTRON_PATH to run it)";

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe.skipIf(!exe)(title, () => {
  it("boots the tray app, serves the API, opens the manager with the desktop bridge, quits cleanly", async () => {
    const { buildApp } = (await import(path.join(ROOT, "scripts/build-app.mjs"))) as { buildApp(o: { renderer: boolean; quiet: boolean }): Promise<void> };
    await buildApp({ renderer: true, quiet: true });
    const { _electron } = await import("playwright-core");
    const port = await freePort();
    const userData = mkdtempSync(path.join(os.tmpdir(), "g2a-e2e-"));
    const app = await _electron.launch({
      executablePath: exe!,
      args: [ROOT],
      env: { ...process.env, GROK2API_E2E: "1", GROK2API_USER_DATA_DIR: userData, PORT: String(port), GROK2API_ADMIN_PASSWORD: "e2e-password", LOG_LEVEL: "warn" } as Record<string, string>,
      timeout: 60_000,
    });
    try {
      const base = `http://127.0.0.1:${port}`;
      await expect.poll(async () => (await fetch(`${base}/health`).catch(() => null))?.status, { timeout: 30_000 }).toBe(200);
      expect(await app.evaluate(({ app: a }) => a.getPath("userData"))).toBe(userData);
      await app.evaluate(async () => {
        await (globalThis as unknown as { __grok2api: { manager: { show(): Promise<unknown> } } }).__grok2api.manager.show();
      });
      const win = await app.firstWindow();
      await win.waitForLoadState("domcontentloaded");
      expect(win.url()).toBe(`${base}/manage`);
      // the bridge is there, Node is not
      expect(await win.evaluate(() => typeof (window as unknown as { require?: unknown }).require)).toBe("undefined");
      expect(await win.evaluate(() => Object.keys((window as unknown as { grok2apiDesktop: object }).grok2apiDesktop).sort())).toEqual(["getNotificationSettings", "getServerInfo", "getStartAtLogin", "openExternal", "openSignIn", "setNotificationSettings", "setStartAtLogin"]);
      const info = await win.evaluate(() => (window as unknown as { grok2apiDesktop: { getServerInfo(): Promise<{ session: string; port: number }> } }).grok2apiDesktop.getServerInfo());
      expect(info.port).toBe(port);
      expect((await fetch(`${base}/api/stats`, { headers: { authorization: `Bearer ${info.session}` } })).status).toBe(200);
    } finally {
      await app.close();
    }
    await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
  }, 120_000);
});
