import path from "node:path";
import { defineConfig } from "vite";

/**
 * The manager's build (React, no dev server needed): `npm run build:renderer` writes
 * out/renderer/index.html and hashed files under out/renderer/assets, which the server serves at
 * /login, /manage and /static/manager/assets/* (src/server/admin/pages.ts). `npm ci` runs it
 * through the `prepare` script, so `npm start` finds it built.
 */
const here = import.meta.dirname;

export default defineConfig({
  root: here,
  base: "/static/manager/",
  publicDir: false,
  logLevel: "warn",
  mode: "production",
  // Always React's production build, also when built from a test run (NODE_ENV=test).
  define: { "process.env.NODE_ENV": JSON.stringify("production") },
  oxc: { jsx: { runtime: "automatic", importSource: "react", development: false } },
  build: {
    outDir: path.resolve(here, "../../out/renderer"),
    emptyOutDir: true,
    target: "es2022",
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
    sourcemap: false,
  },
});
