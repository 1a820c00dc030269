/**
 * Import/export of the ORIGINAL Grok2API data formats so that its users switch in one step, and
 * of our own export document. One module per format or source, all re-exported here:
 *  - token-list.ts: a plain list of SSO cookies;
 *  - legacy-token-json.ts: the original's data/token.json (both generations), in and out;
 *  - legacy-settings.ts: the original's settings object and data/setting.toml;
 *  - legacy-databases.ts: readers for the original's MySQL tables and Redis keys;
 *  - import-export.ts: our export document and importJson(), which reads any of the above.
 * Everything is pure except the database readers, which only run SELECT/GET.
 */
export * from "./token-list.js";
export * from "./legacy-token-json.js";
export * from "./legacy-settings.js";
export * from "./legacy-databases.js";
export * from "./import-export.js";
