/**
 * Electron main process entry (out/main/index.mjs): the Electron platform plus the server
 * bundle, handed to boot() — whose steps (boot.ts) hold all the logic and are tested in Node.
 */
import path from "node:path";
import { pathToFileURL } from "node:url";
import { boot } from "./boot.js";
import { electronPlatform } from "./electron-platform.js";
import type { ServerModule } from "./server-host.js";

const outDir = path.join(import.meta.dirname, "..");
// Loaded at run time from its own bundle (out/server/index.mjs), not bundled into main.
const serverEntry = pathToFileURL(path.join(outDir, "server", "index.mjs")).href;

const platform = electronPlatform(outDir);
const server = (await import(serverEntry)) as ServerModule;
const app = await boot({ platform, server });
if (app?.problem) console.error(`Grok2API: ${app.problem}`);
// the Electron end-to-end test (test/main/electron-e2e.test.ts) drives the app through this
if (process.env.GROK2API_E2E === "1") (globalThis as { __grok2api?: unknown }).__grok2api = app;
