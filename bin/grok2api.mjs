#!/usr/bin/env node
// Entry point for `npm start` and `npx grok2api`. Runs the TypeScript sources through tsx.
import { register } from "tsx/esm/api";

const [major] = process.versions.node.split(".").map(Number);
if (major < 22) {
  console.error(`grok2api needs Node.js 22 or newer (this is ${process.version}). See the README.`);
  process.exit(1);
}
register();
const { main } = await import("../src/server/cli.ts");
main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
