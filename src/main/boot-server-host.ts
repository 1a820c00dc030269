/** Boot step serverHost: logging, the keychain codec, the Chromium upstream when chosen, and the server started (or why not). */
import path from "node:path";
import type { DesktopApp } from "./desktop-app.js";
import { newerDataFound } from "./data-version.js";
import { DesktopSettingsFile } from "./desktop-settings.js";
import { fileLineWriter } from "./log-file.js";
import { codecFor, unreadableSealedFiles } from "./secret-codec.js";
import { ServerHost, type StartOptions } from "./server-host.js";
import { ChromiumTransport } from "./transport/chromium-http.js";
import { GatewayPages } from "./transport/gateway-pages.js";
import { PageGateway } from "./transport/page-gateway.js";
import { PartitionMap } from "./transport/partitions.js";

export async function setupServerHost(app: DesktopApp): Promise<void> {
  const p = app.platform;
  const dataDir = path.join(p.userDataDir(), "data");
  app.settings = new DesktopSettingsFile(p.userDataDir());
  const env = app.deps.env ?? process.env;
  const write = fileLineWriter(p.logsDir(), { echo: app.deps.echo ?? ((l) => process.stderr.write(l + "\n")) });
  app.log = app.deps.server.createLogger((env.LOG_LEVEL as "info") || "info", "", write);
  app.codec = codecFor(p.secrets);
  app.log.info(app.codec ? "data files are sealed with the OS keychain" : "no OS keychain: data files stay plain (as in the headless server)");

  const start: Omit<StartOptions, "listen" | "log"> = app.codec ? { storeCodec: app.codec } : {};
  if (app.settings.value.upstream === "chromium") {
    const partitions = new PartitionMap(() => app.settings.value.partitions);
    const forToken = (t: string | null) => partitions.forToken(t);
    const http = new ChromiumTransport((partition) => p.session(partition), forToken);
    const gatewayPages = new GatewayPages(p, path.join(p.appDir(), "preload", "gateway.cjs"), (partition, ev) => app.pageGateway?.onPageEvent(partition, ev));
    app.gatewayPages = gatewayPages;
    app.pageGateway = new PageGateway({
      page: (partition, origin, ua) => gatewayPages.page(partition, origin, ua),
      cookies: (partition) => p.session(partition).cookies,
      setProxy: (partition, url) => p.session(partition).setProxy(url),
      probe: async (partition, url) => {
        const r = await p.session(partition).fetch(url, { method: "GET", redirect: "manual", credentials: "include", cache: "no-store" });
        return { status: r.status, headers: r.headers, body: (await r.text()).slice(0, 64 * 1024) };
      },
      partitionFor: forToken,
      setTimeout: (fn, ms) => app.timers.setTimeout(fn, ms),
      clearTimeout: (h) => app.timers.clearTimeout(h),
    });
    start.upstream = { http, gatewaySocket: app.pageGateway.factory };
  }
  app.host = new ServerHost({ server: app.deps.server, dataDir, env, log: app.log, start });

  const sealed = unreadableSealedFiles(dataDir, app.codec);
  if (sealed.length) {
    app.problem = `the data files ${sealed.join(", ")} are sealed with a keychain this session cannot open; the server was not started (nothing was changed)`;
    app.log.error(app.problem);
    return;
  }
  const newer = newerDataFound(dataDir, { settings: app.deps.server.SETTINGS_VERSION, accounts: 1, kv: 1 }, app.codec);
  try {
    await app.host.start();
  } catch (err) {
    app.problem = `the server did not start: ${(err as Error).message}`;
    app.log.error(app.problem, { err });
    return;
  }
  const problems = app.host.requireRunning().deps.store.problems ?? [];
  for (const problem of problems) if (/newer/i.test(problem)) newer.push(problem);
  if (newer.length) app.pending.push({ type: "newer_data", detail: newer.join("; ") });
  if (app.host.requestedPort !== null) app.pending.push({ type: "port_taken", requested: app.host.requestedPort, port: app.host.port, baseUrl: app.host.baseUrl });
}
