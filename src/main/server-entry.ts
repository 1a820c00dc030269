/**
 * The server bundle of the desktop app (out/server/index.mjs): what the main process uses of
 * src/server, loaded at run time by index.ts. Kept apart from the main bundle so the asar shows
 * main, preload and server as their own files (and main stays small).
 */
export { startServer } from "../server/server.js";
export { loadRuntimeConfig } from "../server/config/env.js";
export { createLogger } from "../server/log.js";
export { SETTINGS_VERSION } from "../server/config/settings-schema.js";
