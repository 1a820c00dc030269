import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { chromium, type Browser, type BrowserContext, type ConsoleMessage, type Page } from "playwright-core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ADMIN_PASSWORD, startStack, type Stack } from "../support/stack.js";

/**
 * The React manager (src/renderer) in a real browser — Debian's Chromium driven by playwright-core
 * — against the real server and the fake grok.com: every page, in order, on one page object.
 * Screenshots of each page in the light and dark theme (and at 360 px) go to .test-results/manage/.
 * Console errors and CSP violations fail the run, except the 401s two steps provoke on purpose.
 */
const CHROMIUM = "/usr/bin/chromium";
const ROOT = path.resolve(import.meta.dirname, "../..");
const RESULTS = path.join(ROOT, ".test-results", "manage");
const BUILD = path.join(ROOT, "out", "renderer");

let stack: Stack;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const problems: string[] = [];

const mask = (t: string) => `${t.slice(0, 8)}…${t.slice(-6)}`;
const rows = () => page.locator("#accounts-body > tr");
const row = (token: string) => page.locator(`#accounts-body > tr[data-account="${mask(token)}"]`);

function newestMtime(dir: string): number {
  let max = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    max = Math.max(max, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return max;
}

/** Builds the manager when out/renderer is missing or older than its sources (npm ci builds it too). */
async function ensureBuild(): Promise<void> {
  const html = path.join(BUILD, "index.html");
  const sources = Math.max(newestMtime(path.join(ROOT, "src/renderer")), newestMtime(path.join(ROOT, "src/shared")));
  if (existsSync(html) && statSync(html).mtimeMs >= sources) return;
  const { build } = await import("vite");
  await build({ configFile: path.join(ROOT, "src/renderer/vite.config.ts"), logLevel: "error" });
}

async function api(method: string, p: string, body?: unknown, token?: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${stack.url}${p}`, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: (await res.json().catch(() => null)) as any };
}

async function shot(name: string) {
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(RESULTS, `${name}.png`), fullPage: true });
}

async function go(p: "overview" | "accounts" | "settings" | "media" | "clients" | "logs") {
  await page.click(`#nav-${p}`);
  await page.waitForURL(new RegExp(`#/${p}$`));
  await page.locator(`#${p}-title`).waitFor();
}

/** The cookie the server set at login (HttpOnly: never visible to the page's script). */
async function sessionCookie() {
  return (await context.cookies(`${stack.url}/api/`)).find((c) => c.name === "g2a_session");
}

/** Takes the 401 "Failed to load resource" lines a step provoked on purpose off the problem list. */
function expect401s(pathPart: string) {
  const expected = problems.filter((p) => p.includes("401") && p.includes(pathPart));
  for (const p of expected) problems.splice(problems.indexOf(p), 1);
  return expected.length;
}

let launchError: Error | undefined;
const MISSING = `${CHROMIUM} is missing: the browser tests need Debian's Chromium. Install it with: apt-get update && apt-get install -y chromium`;

// A missing browser fails every test here (CI installs it); it is never a skip.
beforeEach(() => {
  if (!browser) throw launchError ?? new Error(MISSING);
});

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) return;
  mkdirSync(RESULTS, { recursive: true });
  await ensureBuild();
  stack = await startStack({ accounts: 0, transport: "fetch" });
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    });
  } catch (err) {
    launchError = new Error(`Chromium at ${CHROMIUM} did not start: ${(err as Error).message}`);
    return;
  }
  context = await browser.newContext({ viewport: { width: 1360, height: 900 }, colorScheme: "light", locale: "en-US", acceptDownloads: true });
  page = await context.newPage();
  page.setDefaultTimeout(7000);
  const watch = (p: Page) => {
    p.on("pageerror", (err) => problems.push(`pageerror: ${err.message}`));
    p.on("console", (msg: ConsoleMessage) => {
      if (msg.type() === "error" || /Content Security Policy|Refused to (load|execute|apply|connect)/i.test(msg.text())) problems.push(`console ${msg.type()}: ${msg.text()} @ ${msg.location().url}`);
    });
    p.on("response", (res) => {
      if (res.status() >= 400) problems.push(`HTTP ${res.status()} ${res.request().method()} ${new URL(res.url()).pathname}`);
    });
  };
  watch(page);
  context.on("page", watch);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

describe("the manager in Chromium", () => {
  it("serves /login and /manage with a strict CSP and hashed, long-cached files", async () => {
    for (const p of ["/login", "/manage"]) {
      const res = await fetch(`${stack.url}${p}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(res.headers.get("cache-control")).toBe("no-store");
      const csp = res.headers.get("content-security-policy") ?? "";
      for (const d of ["default-src 'self'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "object-src 'none'", "frame-ancestors 'none'"]) expect(csp).toContain(d);
      expect(csp).not.toContain("unsafe");
      const html = await res.text();
      expect(html).not.toMatch(/<script>|<script(?![^>]*\bsrc=)[^>]*>|<style|style="|https?:\/\//); // nothing inline, nothing remote
      const assets = [...html.matchAll(/(?:src|href)="(\/static\/manager\/assets\/[^"]+)"/g)].map((m) => m[1]!);
      expect(assets.some((a) => a.endsWith(".js"))).toBe(true);
      expect(assets.some((a) => a.endsWith(".css"))).toBe(true);
      for (const a of assets) {
        expect(a).toMatch(/-[\w-]{8}\.(js|css|svg)$/); // content hash in the name
        const r = await fetch(`${stack.url}${a}`);
        expect(r.status).toBe(200);
        expect(r.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
        expect(r.headers.get("access-control-allow-origin")).toBeNull();
      }
    }
    expect((await fetch(`${stack.url}/static/manager/assets/nope-12345678.js`)).status).toBe(404);
    const root = await fetch(`${stack.url}/`, { redirect: "manual" });
    expect(root.status).toBe(302);
    expect(root.headers.get("location")).toBe("/manage");
  });

  it("sends /manage without a session to /login, refuses a wrong password, signs in and lands back", async () => {
    await page.goto(`${stack.url}/manage#/settings`);
    await page.waitForURL(/\/login\?next=/);
    expect(decodeURIComponent(page.url())).toContain("next=/manage#/settings");
    await expect.poll(() => page.inputValue("#username")).toBe("admin");
    expect(await page.textContent("body")).toContain("generated admin password");
    await shot("login-light");

    await page.fill("#password", "definitely-wrong");
    await page.click("#login-submit");
    await expect.poll(() => page.textContent("#login-error")).toBe("Wrong user name or password.");
    expect(expect401s("/api/login")).toBeGreaterThan(0);

    await page.fill("#password", ADMIN_PASSWORD);
    await page.click("#login-submit");
    await page.waitForURL(/\/manage#\/settings$/);
    await page.locator("#settings-title").waitFor();
    // The session is an HttpOnly, SameSite=Strict cookie on /api: not in script, not in storage.
    const c = await sessionCookie();
    expect(c).toMatchObject({ httpOnly: true, sameSite: "Strict", path: "/api" });
    expect(await page.evaluate(() => document.cookie)).not.toContain("g2a_session");
    expect(await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }))).not.toContain(c!.value);
    // The cookie does not open the admin API to other sites.
    const cross = await api("GET", "/api/tokens", undefined, undefined, { cookie: `g2a_session=${c!.value}`, origin: "https://evil.example", "sec-fetch-site": "cross-site" });
    expect(cross.status).toBe(403);
    expect((await api("GET", "/api/tokens", undefined, undefined, { cookie: `g2a_session=${c!.value}` })).status).toBe(200);
    // Bearer tokens keep working for scripts and the original's clients.
    expect((await api("GET", "/api/tokens", undefined, await stack.adminToken())).status).toBe(200);
  });

  it("Overview with no accounts: an empty state pointing to Accounts", async () => {
    await go("overview");
    await expect.poll(() => page.textContent("#stat-summary")).toContain("0 accounts in total");
    expect(await page.textContent("main")).toContain("No accounts yet.");
    expect(await page.textContent("#storage-mode")).toBe("FILE");
    expect(await page.textContent("#transport")).toBe("fetch");
  });

  let a: { sso: string };
  let b: { sso: string };
  let c: { sso: string };

  it("Accounts: adds pasted cookies (sso= and attributes stripped), masked, never the whole cookie", async () => {
    await go("accounts");
    await expect.poll(() => page.textContent("main")).toContain("No accounts yet.");
    a = stack.fake.addAccount();
    b = stack.fake.addAccount();
    await page.fill("#add-tokens", `${a.sso}\n\n  sso=${b.sso}; Path=/; Secure  \n`);
    await page.selectOption("#add-type", "sso");
    await page.click("#add-submit");
    await expect.poll(() => page.textContent("#add-msg")).toBe("Added 2, 0 already present.");
    await expect.poll(() => rows().count()).toBe(2);
    expect(await page.inputValue("#add-tokens")).toBe("");
    for (const acc of [a, b]) {
      expect(await row(acc.sso).locator("td.token code").textContent()).toBe(mask(acc.sso));
      expect(await row(acc.sso).locator("td.state").textContent()).toContain("Not used yet");
    }
    const html = await page.content();
    expect(html).not.toContain(a.sso);
    expect(html).not.toContain(b.sso);
    expect(await page.textContent("#shown-count")).toBe("2 of 2 shown");
  });

  it("Accounts: tests an account and shows its confirmed quota", async () => {
    await row(a.sso).getByRole("button", { name: "Test", exact: true }).click();
    await expect.poll(() => row(a.sso).locator(".test-result").textContent()).toBe("✓");
    await expect.poll(() => page.locator(".toast").first().textContent()).toMatch(new RegExp(`^${mask(a.sso)}: valid · \\d+ fast left`));
    await expect.poll(() => row(a.sso).locator("td.quota-cell").textContent()).toMatch(/^\d+ of 30 left$/);
    expect(await row(a.sso).locator("td.quota-cell .quota").getAttribute("class")).toContain("quota-confirmed");
    expect(await row(a.sso).locator("td.state .badge").textContent()).toBe("Usable");
  });

  it("Accounts: edits tags and notes inline and filters by tag, state and text", async () => {
    await row(b.sso).getByRole("button", { name: `Edit tags of ${mask(b.sso)}` }).click();
    const tagInput = page.getByRole("textbox", { name: `Edit tags of ${mask(b.sso)}` });
    await tagInput.fill("team-b, vip, team-b");
    await tagInput.press("Enter");
    await expect.poll(() => row(b.sso).locator("td.tags .chip").allTextContents()).toEqual(["team-b", "vip"]);
    await row(b.sso).getByRole("button", { name: `Edit note of ${mask(b.sso)}` }).click();
    const noteInput = page.getByRole("textbox", { name: `Edit note of ${mask(b.sso)}` });
    await noteInput.fill("backup <b>account</b>");
    await noteInput.press("Tab"); // leaving the field saves too
    await expect.poll(() => row(b.sso).locator("td.note .note-text").textContent()).toBe("backup <b>account</b>");
    expect(await row(b.sso).locator("td.note b").count()).toBe(0); // text, never HTML
    const stored = (await api("GET", "/api/tokens", undefined, await stack.adminToken())).json.data.find((d: any) => d.token === b.sso);
    expect(stored).toMatchObject({ tags: ["team-b", "vip"], note: "backup <b>account</b>" });

    await page.selectOption("#filter-tag", "vip");
    await expect.poll(() => rows().count()).toBe(1);
    expect(await page.textContent("#shown-count")).toBe("1 of 2 shown");
    await page.selectOption("#filter-tag", "");
    await page.fill("#filter", "backup");
    await expect.poll(() => rows().count()).toBe(1);
    await page.fill("#filter", "");
    await page.selectOption("#filter-state", "dead");
    await expect.poll(() => page.textContent("main")).toContain("No account matches these filters.");
    await page.getByRole("button", { name: "Clear filters" }).click();
    await expect.poll(() => rows().count()).toBe(2);
    // a tag chip filters by that tag
    await row(b.sso).getByRole("button", { name: "team-b" }).click();
    await expect.poll(() => page.inputValue("#filter-tag")).toBe("team-b");
    await expect.poll(() => rows().count()).toBe(1);
    await page.selectOption("#filter-tag", "");
  });

  it("Accounts: disables one account, then enables both with a bulk action", async () => {
    await row(b.sso).getByRole("button", { name: "Disable", exact: true }).click();
    await expect.poll(() => row(b.sso).locator("td.state .badge").textContent()).toBe("Disabled");
    expect((await api("GET", "/api/tokens", undefined, await stack.adminToken())).json.data.find((d: any) => d.token === b.sso).state).toBe("disabled");
    await page.getByRole("checkbox", { name: "Select all shown" }).check();
    await expect.poll(() => page.textContent("#selected-count")).toBe("2 selected");
    await page.click("#bulk-enable");
    await expect.poll(() => row(b.sso).locator("td.state .badge").textContent()).not.toBe("Disabled");
    await page.getByRole("checkbox", { name: "Select all shown" }).uncheck();
  });

  it("Accounts: imports the original's token.json from a file and exports a list", async () => {
    c = stack.fake.addAccount();
    const file = path.join(RESULTS, "import-token.json");
    writeFileSync(file, JSON.stringify({ ssoNormal: { [c.sso]: { createdTime: Date.now(), remainingQueries: -1, heavyremainingQueries: -1, status: "active", tags: ["imported"], note: "" } }, ssoSuper: {} }));
    await page.setInputFiles("#import-file", file);
    await expect.poll(() => page.textContent("#import-msg")).toMatch(/^Imported 1 new, replaced 0, 0 already present \(.+\)\.$/);
    await expect.poll(() => rows().count()).toBe(3);
    expect(await row(c.sso).locator("td.tags .chip").allTextContents()).toEqual(["imported"]);

    const download = page.waitForEvent("download");
    await page.click("#export-txt");
    const d = await download;
    const text = readFileSync((await d.path())!, "utf8");
    expect(text.trim().split("\n").sort()).toEqual([a.sso, b.sso, c.sso].sort());
    expect(d.suggestedFilename()).toMatch(/^sso-\d{4}-\d{2}-\d{2}\.txt$/);
  });

  it("Accounts: the detail dialog shows tier, quota buckets and failures; Escape closes it", async () => {
    await row(a.sso).getByRole("button", { name: "Details" }).click();
    const dialog = page.locator("#detail");
    await dialog.waitFor({ state: "visible" });
    expect(await page.textContent("#detail-title")).toBe(`Account ${mask(a.sso)}`);
    await expect.poll(() => dialog.textContent()).toContain("No failures recorded.");
    expect(await dialog.textContent()).toContain("confirmed by grok.com");
    expect(await dialog.locator(".bucket-list li").count()).toBeGreaterThan(0);
    await shot("accounts-detail-light");
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
  });

  it("Accounts: bulk delete names what goes and needs a confirmation", async () => {
    await shot("accounts-light");
    await row(c.sso).getByRole("checkbox").check();
    await page.click("#bulk-delete");
    const dialog = page.locator("#confirm");
    await dialog.waitFor({ state: "visible" });
    expect(await page.locator("#confirm-list li").allTextContents()).toEqual([mask(c.sso)]);
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await dialog.waitFor({ state: "hidden" });
    expect(await rows().count()).toBe(3);
    await page.click("#bulk-delete");
    await dialog.waitFor({ state: "visible" });
    await dialog.getByRole("button", { name: "Delete" }).click();
    await expect.poll(() => rows().count()).toBe(2);
    expect((await api("GET", "/api/tokens", undefined, await stack.adminToken())).json.data.map((x: any) => x.token).sort()).toEqual([a.sso, b.sso].sort());
  });

  it("Settings: grouped, labelled, with defaults; a validation error first, then saves and lists the change", async () => {
    await go("settings");
    const field = page.locator("#set-grok-stream_chunk_timeout");
    await field.waitFor();
    expect(await field.inputValue()).toBe("120");
    const box = page.locator('[data-key="grok.stream_chunk_timeout"]');
    expect(await box.textContent()).toContain("Silence between outputs");
    expect(await box.textContent()).toContain("Default: 120");
    expect(await page.locator('[data-key="grok.trusted_network"] .danger').textContent()).toContain("Everyone who can reach this machine");
    expect(await page.locator("#set-grok-chat_transport option").allTextContents()).toEqual(["gateway", "rest", "auto"]);
    expect(await page.isDisabled("#settings-save")).toBe(true);

    // local check (the schema's max) as you type
    await field.fill("99999");
    await expect.poll(() => box.locator(".field-error").textContent()).toBe("At most 3600.");
    expect(await field.getAttribute("aria-invalid")).toBe("true");
    expect(await page.isDisabled("#settings-save")).toBe(true);
    // the server's own schema for what only it knows (proxy URL format)
    await field.fill("45");
    await page.fill("#set-grok-proxy_url", "ftp://proxy.example:21");
    const proxyBox = page.locator('[data-key="grok.proxy_url"]');
    await expect.poll(() => proxyBox.locator(".field-error").textContent()).toContain("scheme must be http, https, socks4 or socks5");
    expect(await page.isDisabled("#settings-save")).toBe(true);
    await shot("settings-error-light");
    await page.fill("#set-grok-proxy_url", "");
    await expect.poll(() => proxyBox.locator(".field-error").count()).toBe(0);

    const sent: unknown[] = [];
    const onRequest = (req: import("playwright-core").Request) => {
      if (new URL(req.url()).pathname === "/api/settings" && req.method() === "POST") sent.push(req.postDataJSON());
    };
    page.on("request", onRequest);
    await expect.poll(() => page.textContent("#settings-save")).toBe("Save 1 change");
    await page.click("#settings-save");
    await expect.poll(() => page.textContent("#settings-result")).toContain("Saved 1 setting:");
    expect(await page.locator("#settings-result li").allTextContents()).toEqual(["grok.stream_chunk_timeout: 120 → 45"]);
    page.off("request", onRequest);
    expect(sent).toEqual([{ grok_config: { stream_chunk_timeout: 45 } }]);
    expect((await api("GET", "/api/settings", undefined, await stack.adminToken())).json.data.grok.stream_chunk_timeout).toBe(45);
    await expect.poll(() => field.inputValue()).toBe("45");
    expect(await page.isDisabled("#settings-save")).toBe(true);
    await shot("settings-light");
  });

  it("Clients: base URLs, recipes, and a test chat through the proxy", async () => {
    await go("clients");
    expect(await page.inputValue("#base-url")).toBe(`${stack.url}/v1`);
    expect(await page.inputValue("#origin-url")).toBe(stack.url);
    expect(await page.textContent("#recipe-claude")).toContain(`ANTHROPIC_BASE_URL=${stack.url}`);
    expect(await page.textContent("#recipe-codex")).toContain('wire_api = "responses"');
    await page.click("#test-send");
    await expect.poll(() => page.textContent("#test-answer"), { timeout: 15_000 }).toMatch(/^Answer from grok-chat-fast in \d+ ms:/);
    expect((await page.locator("#test-answer blockquote").textContent())!.length).toBeGreaterThan(0);
    await shot("clients-light");
  });

  it("Logs: recent requests with protocol, model, masked account, status; new ones arrive live", async () => {
    await go("logs");
    await expect.poll(() => page.locator("#logs-body > tr").count()).toBeGreaterThan(0);
    const first = page.locator("#logs-body > tr").first();
    expect(await first.textContent()).toContain("openai");
    expect(await first.textContent()).toContain("grok-chat-fast");
    expect(await first.textContent()).toContain("200");
    expect(await first.textContent()).toMatch(/…/); // masked account
    await expect.poll(() => page.textContent("#live-state")).toBe("Live");
    // live: a request made elsewhere shows up without a reload
    const before = await page.locator("#logs-body > tr").count();
    await stack.openai.chat.completions.create({ model: "grok-4.5", messages: [{ role: "user", content: "zebra-prompt-7" }], stream: true }).then(async (s) => {
      for await (const _ of s);
    });
    await expect.poll(() => page.locator("#logs-body > tr").count()).toBe(before + 1);
    expect(await page.locator("#logs-body > tr").first().textContent()).toContain("grok-4.5");
    expect(await page.locator("#logs-body > tr").first().textContent()).toContain("stream");
    // a failed one, then filter by status
    await expect(stack.openai.chat.completions.create({ model: "no-such-model", messages: [{ role: "user", content: "x" }] })).rejects.toThrow();
    await expect.poll(() => page.locator("#logs-body > tr.row-error").count()).toBe(1);
    await page.selectOption("#log-status", "error");
    await expect.poll(() => page.locator("#logs-body > tr").count()).toBe(1);
    expect(await page.locator("#logs-body > tr").first().textContent()).toContain("404");
    await page.selectOption("#log-status", "");
    // details: the failover steps
    await page.locator("#logs-body > tr").nth(1).getByRole("button").click();
    await expect.poll(() => page.locator(".log-detail").textContent()).toContain("answered");
    expect(await page.content()).not.toContain("zebra-prompt-7"); // no prompt text unless a setting says so
    await shot("logs-light");
  });

  it("Media: an empty state while nothing is cached (or the cache is not there yet)", async () => {
    await go("media");
    await expect.poll(() => page.textContent("main")).toMatch(/Nothing cached yet\.|The media cache is not available on this server yet\./);
    await shot("media-light");
  });

  it("Overview with accounts: counts by state, quota per bucket, traffic and upstream health", async () => {
    await go("overview");
    await expect.poll(() => page.textContent("#stat-summary")).toContain("2 accounts in total");
    expect(await page.textContent("#stat-active .stat-value")).toBe("2");
    expect(await page.locator(".pool-quota").count()).toBeGreaterThan(0);
    expect(await page.locator(".chart-svg").getAttribute("aria-label")).toMatch(/^requests: [3-9]\d* · failed: 1$/);
    expect(await page.textContent("#upstream-health")).toBe("Healthy");
    await shot("overview-light");
  });

  it("is keyboard reachable: skip link, navigation by Tab and Enter", async () => {
    await page.goto(`${stack.url}/manage#/overview`);
    await page.reload(); // a fresh load: focus starts at the top of the document
    await page.locator("#overview-title").waitFor();
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.className)).toBe("skip");
    const seen: string[] = [];
    for (let i = 0; i < 12 && !seen.includes("nav-logs"); i++) {
      await page.keyboard.press("Tab");
      seen.push(await page.evaluate(() => document.activeElement?.id ?? ""));
    }
    expect(seen).toEqual(expect.arrayContaining(["nav-overview", "nav-accounts", "nav-settings", "nav-media", "nav-clients", "nav-logs"]));
    await page.keyboard.press("Enter");
    await page.waitForURL(/#\/logs$/);
    await page.locator("#logs-title").waitFor();
  });

  it("switches language to 简体中文 and keeps it across a reload", async () => {
    await go("accounts");
    await page.selectOption("#lang", "zh");
    await expect.poll(() => page.textContent("#nav-accounts")).toBe("账号");
    expect(await page.getAttribute("html", "lang")).toBe("zh-CN");
    expect(await page.textContent("#accounts-title")).toBe("账号");
    await page.reload();
    await expect.poll(() => page.textContent("#nav-settings")).toBe("设置");
    for (const p of ["overview", "accounts", "settings", "media", "clients", "logs"] as const) {
      await go(p);
      await page.waitForLoadState("networkidle").catch(() => {});
      await shot(`${p}-zh-light`);
    }
    await page.selectOption("#lang", "en");
    await expect.poll(() => page.textContent("#nav-settings")).toBe("Settings");
  });

  it("keeps the session across a reload and in a second tab", async () => {
    await page.reload();
    await page.locator("#settings-title, #overview-title, #accounts-title, #logs-title, #media-title, #clients-title").first().waitFor();
    expect(page.url()).toContain("/manage");
    const second = await context.newPage();
    await second.goto(`${stack.url}/manage#/accounts`);
    await second.locator("#accounts-title").waitFor();
    await expect.poll(() => second.locator("#accounts-body > tr").count()).toBe(2);
    // and /login in a signed-in tab goes straight on
    await second.goto(`${stack.url}/login?next=${encodeURIComponent("/manage#/clients")}`);
    await second.waitForURL(/\/manage#\/clients$/);
    await second.close();
  });

  it("dark theme and 360 px: every page readable, nothing wider than the screen", async () => {
    await page.emulateMedia({ colorScheme: "dark" });
    for (const p of ["overview", "accounts", "settings", "media", "clients", "logs"] as const) {
      await go(p);
      await page.waitForLoadState("networkidle").catch(() => {});
      if (p === "logs") await expect.poll(() => page.locator("#logs-body > tr").count()).toBeGreaterThan(0);
      expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).not.toBe("rgb(245, 246, 248)");
      await shot(`${p}-dark`);
    }
    await page.setViewportSize({ width: 360, height: 780 });
    for (const theme of ["light", "dark"] as const) {
      await page.emulateMedia({ colorScheme: theme });
      for (const p of ["overview", "accounts", "settings", "media", "clients", "logs"] as const) {
        await go(p);
        await page.waitForLoadState("networkidle").catch(() => {});
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        expect(overflow, `${p} at 360 px overflows by ${overflow} px`).toBeLessThanOrEqual(0);
        await shot(`${p}-360-${theme}`);
      }
    }
    await page.setViewportSize({ width: 1360, height: 900 });
    await page.emulateMedia({ colorScheme: "light" });
  });

  it("an expired session returns to /login and, after signing in, to the same page", async () => {
    await go("settings");
    const cookie = await sessionCookie();
    expect((await api("POST", "/api/logout", {}, cookie!.value)).json.success).toBe(true); // the session ends elsewhere
    await page.click("#nav-accounts"); // the page's next call gets 401
    await page.waitForURL(/\/login\?next=.*expired=1/);
    await page.locator("#login-form").waitFor();
    expect(decodeURIComponent(page.url())).toContain("next=/manage#/accounts");
    expect(await page.textContent(".notice")).toContain("Your session ended");
    expect(expect401s("/api/")).toBeGreaterThan(0);
    await page.fill("#password", ADMIN_PASSWORD);
    await page.click("#login-submit");
    await page.waitForURL(/\/manage#\/accounts$/);
    await expect.poll(() => rows().count()).toBe(2);
  });

  it("signs out: back to /login, the cookie's session is dead", async () => {
    const cookie = await sessionCookie();
    await page.click("#logout");
    await page.waitForURL(/\/login$/);
    expect((await api("GET", "/api/tokens", undefined, cookie!.value)).status).toBe(401);
    expect(await sessionCookie()).toBeUndefined();
    await page.goto(`${stack.url}/manage`);
    await page.waitForURL(/\/login\?next=/);
    await page.locator("#login-form").waitFor();
    await page.emulateMedia({ colorScheme: "dark" });
    await shot("login-dark");
    await page.setViewportSize({ width: 360, height: 780 });
    await shot("login-360-dark");
    await page.setViewportSize({ width: 1360, height: 900 });
    await page.emulateMedia({ colorScheme: "light" });
  });

  it("in the desktop window: the session handed over by the preload (Bearer, no cookie) works, exports too", async () => {
    const session = await stack.adminToken();
    const desk = await browser.newContext({ viewport: { width: 1100, height: 800 }, acceptDownloads: true });
    // What src/preload exposes (src/shared/desktop-api.ts), reduced to what the manager reads.
    await desk.addInitScript((s) => {
      (window as unknown as { grok2apiDesktop: unknown }).grok2apiDesktop = { getServerInfo: async () => ({ session: s }) };
    }, session);
    const p = await desk.newPage();
    await p.goto(`${stack.url}/manage#/accounts`);
    await expect.poll(() => p.locator("#accounts-body > tr").count()).toBe(2);
    expect((await desk.cookies(`${stack.url}/api/`)).find((c) => c.name === "g2a_session")).toBeUndefined();
    const download = p.waitForEvent("download");
    await p.click("#export-txt");
    const d = await download;
    expect(readFileSync((await d.path())!, "utf8").trim().split("\n").sort()).toEqual([a.sso, b.sso].sort());
    await p.click("#nav-logs");
    await expect.poll(() => p.textContent("#live-state")).toBe("Live");
    await desk.close();
  });

  it("ran without console errors, failed requests or CSP violations", () => {
    expect(problems).toEqual([]);
  });
});
