#!/usr/bin/env node
// Regenerates test/vendor/openai-openapi.subset.json from a full OpenAI OpenAPI spec: the root
// component schemas below plus everything they reference ($ref closure), copied unmodified.
//
//   node scripts/vendor-openai-spec.mjs <path/to/openapi.json> [--out FILE] [--source TEXT] [--roots A,B,…] [--add-roots A,B,…]
//
// <path/to/openapi.json> is openapi.json of https://github.com/openai/openai-openapi (branch main);
// --source records where it came from (repository, branch, commit, date) in the output's
// x-vendored.source. --roots replaces the default root list, --add-roots extends it.
// The output keeps the spec's shape ({openapi, info, components:{schemas}}), so the `nullable`
// rewrite and ajv loading of test/support/openapi.ts work on it as on the full file.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** What the tests validate: chat completions, models, errors, and the Responses API. */
export const DEFAULT_ROOTS = [
  // chat completions (§2 of api-conformance.md)
  "CreateChatCompletionResponse",
  "CreateChatCompletionStreamResponse",
  "CompletionUsage",
  // models (§3.1)
  "ListModelsResponse",
  "Model",
  // errors (§2.8)
  "ErrorResponse",
  // Responses API (§3.5): the response object, every stream event, the request
  "Response",
  "ResponseStreamEvent",
  "CreateResponse",
];

const here = path.dirname(fileURLToPath(import.meta.url));
const DEFAULT_OUT = path.resolve(here, "..", "test", "vendor", "openai-openapi.subset.json");

function usage(msg) {
  if (msg) console.error(`error: ${msg}`);
  console.error("usage: node scripts/vendor-openai-spec.mjs <openapi.json> [--out FILE] [--source TEXT] [--roots A,B,…] [--add-roots A,B,…]");
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { spec: null, out: DEFAULT_OUT, source: null, roots: [...DEFAULT_ROOTS] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => (i + 1 < argv.length ? argv[++i] : usage(`${a} needs a value`));
    if (a === "--out") opts.out = path.resolve(val());
    else if (a === "--source") opts.source = val();
    else if (a === "--roots") opts.roots = val().split(",").map((s) => s.trim()).filter(Boolean);
    else if (a === "--add-roots") opts.roots.push(...val().split(",").map((s) => s.trim()).filter(Boolean));
    else if (a === "-h" || a === "--help") usage();
    else if (a.startsWith("-")) usage(`unknown option ${a}`);
    else if (opts.spec) usage("only one spec path");
    else opts.spec = a;
  }
  if (!opts.spec) usage("the full spec path is required");
  if (opts.roots.length === 0) usage("no root schemas");
  opts.roots = [...new Set(opts.roots)];
  return opts;
}

/** "#/components/schemas/Foo" → ["components","schemas","Foo"] (JSON pointer, RFC 6901). */
function pointer(ref) {
  if (!ref.startsWith("#/")) throw new Error(`only local $refs are supported, got ${ref}`);
  return ref.slice(2).split("/").map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
}

function refsIn(node, out) {
  if (Array.isArray(node)) for (const v of node) refsIn(v, out);
  else if (node && typeof node === "object") {
    for (const [k, v] of Object.entries(node)) {
      if (k === "$ref" && typeof v === "string") out.add(v);
      else refsIn(v, out);
    }
  }
  return out;
}

/** The transitive $ref closure of the roots, as a map "kind/name" → schema (kind = components/<kind>). */
export function closure(spec, roots) {
  const found = new Map(); // "#/components/schemas/X" → node
  const queue = roots.map((r) => `#/components/schemas/${r}`);
  while (queue.length) {
    const ref = queue.shift();
    if (found.has(ref)) continue;
    const parts = pointer(ref);
    if (parts.length !== 3 || parts[0] !== "components") throw new Error(`$ref outside components/<kind>/<name>: ${ref}`);
    const node = spec.components?.[parts[1]]?.[parts[2]];
    if (node === undefined) throw new Error(`dangling $ref ${ref}`);
    found.set(ref, node);
    for (const r of refsIn(node, new Set())) if (!found.has(r)) queue.push(r);
  }
  return found;
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const spec = JSON.parse(readFileSync(opts.spec, "utf8"));
  for (const r of opts.roots) if (!spec.components?.schemas?.[r]) throw new Error(`root schema ${r} is not in ${opts.spec}`);
  const found = closure(spec, opts.roots);
  const components = {};
  for (const ref of [...found.keys()].sort()) {
    const [, kind, name] = pointer(ref);
    (components[kind] ??= {})[name] = found.get(ref);
  }
  const out = {
    openapi: spec.openapi,
    info: { title: spec.info?.title, version: spec.info?.version },
    "x-vendored": {
      note: "Subset of the OpenAI OpenAPI spec: the root component schemas and their transitive $ref closure, copied unmodified. Regenerate with scripts/vendor-openai-spec.mjs; see test/vendor/README.md.",
      ...(opts.source ? { source: opts.source } : {}),
      roots: opts.roots,
      schemas: Object.keys(components.schemas ?? {}).length,
    },
    components,
  };
  writeFileSync(opts.out, JSON.stringify(out, null, 1) + "\n");
  const kb = (Buffer.byteLength(JSON.stringify(out, null, 1)) / 1024).toFixed(0);
  console.log(`${path.relative(process.cwd(), opts.out)}: ${opts.roots.length} roots, ${found.size} components, ${kb} KB`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
