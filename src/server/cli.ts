import { listensOnLoopback } from "./api/guards.js";
import { loadRuntimeConfig, type CliFlags } from "./config/env.js";
import { createLogger } from "./log.js";
import { startServer } from "./server.js";

const USAGE = `Usage: grok2api serve [--host H] [--port P] [--data DIR]
       grok2api live-check [--token SSO]   (checks each step of the real grok.com path)

Environment: HOST, PORT, GROK2API_DATA_DIR, GROK2API_API_KEY, GROK2API_ADMIN_USERNAME,
GROK2API_ADMIN_PASSWORD, GROK2API_UPSTREAM_URL, GROK2API_ASSETS_URL, GROK2API_TRANSPORT,
STORAGE_MODE, DATABASE_URL, LOG_LEVEL (see README).`;

export function parseFlags(argv: string[]): { command: string; flags: CliFlags & { token?: string } } {
  const [command = "serve", ...rest] = argv;
  const flags: CliFlags & { token?: string } = {};
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    const [name, inline] = arg.startsWith("--") ? arg.slice(2).split("=", 2) : [arg, undefined];
    if (!["host", "port", "data", "token"].includes(name!)) throw new Error(`unknown option ${arg}\n\n${USAGE}`);
    const value = inline ?? rest[++i];
    if (value === undefined) throw new Error(`option --${name} needs a value`);
    (flags as Record<string, string>)[name!] = value;
  }
  return { command, flags };
}

export async function main(argv = process.argv.slice(2)): Promise<void> {
  if (argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help") {
    console.log(USAGE);
    return;
  }
  const { command, flags } = parseFlags(argv);
  const runtime = loadRuntimeConfig(process.env, flags);
  if (command === "live-check") {
    const { liveCheck } = await import("./live-check.js");
    process.exitCode = await liveCheck(runtime, flags.token ?? null);
    return;
  }
  if (command !== "serve") throw new Error(`unknown command "${command}"\n\n${USAGE}`);
  const log = createLogger(runtime.logLevel);
  const running = await startServer(runtime, { log });
  const lines = [
    `Grok2API listening on ${running.url}`,
    `  OpenAI base URL:    ${running.url}/v1`,
    `  Anthropic base URL: ${running.url}  (Claude Code: ANTHROPIC_BASE_URL=${running.url})`,
    `  Manager login:      ${running.url}/login  (user "${runtime.adminUsername}")`,
    `  Storage:            ${runtime.storageMode}${runtime.storageMode === "file" ? ` in ${runtime.dataDir}` : ""}`,
    `  Upstream:           ${runtime.upstreamUrl} via ${runtime.transport}`,
  ];
  if (running.generatedPassword)
    lines.push("", `  First run: generated admin password: ${running.generatedPassword}`, "  It is shown only now and stored hashed. Set GROK2API_ADMIN_PASSWORD to choose your own.");
  if (running.generatedApiKey)
    lines.push(
      "",
      `  Listening beyond loopback: generated client API key: ${running.generatedApiKey}`,
      "  It is shown only now (the manager page has it under api_key). /v1 requires it. Set GROK2API_API_KEY to choose your own,",
      "  or grok.trusted_network=true to serve the network without a key.",
    );
  const keys = runtime.apiKeys ?? running.deps.settings.value.grok.api_key.split(",").filter((k) => k.trim());
  if (!keys.length)
    lines.push(
      "",
      running.deps.settings.value.grok.trusted_network && !listensOnLoopback(runtime.host)
        ? "  Client API keys: none — grok.trusted_network is on, so anyone on the network may use /v1."
        : "  Client API keys: none configured — /v1 accepts local clients without a key (web pages: loopback origins only). Set GROK2API_API_KEY or the api_key setting.",
    );
  console.log(lines.join("\n"));
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`received ${signal}, shutting down`);
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    await running.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
}
