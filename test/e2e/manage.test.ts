import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ADMIN_PASSWORD, startStack, type Stack } from "../support/stack.js";

/**
 * The admin pages in a real browser (Debian's Chromium, driven by playwright-core): login,
 * adding / testing / tagging / filtering / deleting accounts, settings, logout.
 * The steps share one page and run in order.
 */
const CHROMIUM = "/usr/bin/chromium";
const RESULTS = path.resolve(".test-results");

let stack: Stack;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const pageErrors: string[] = [];
const cspViolations: string[] = [];

const mask = (t: string) => `${t.slice(0, 8)}…${t.slice(-6)}`;
const rows = () => page.locator("#accounts-body tr");
const row = (token: string) => page.locator("#accounts-body tr", { hasText: mask(token) });

async function api(method: string, p: string, body?: unknown, token?: string) {
  const res = await fetch(`${stack.url}${p}`, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: (await res.json()) as any };
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
  stack = await startStack({ accounts: 0 });
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    });
  } catch (err) {
    launchError = new Error(`Chromium at ${CHROMIUM} did not start: ${(err as Error).message}`);
    return;
  }
  context = await browser.newContext({ viewport: { width: 1400, height: 900 }, colorScheme: "light" });
  page = await context.newPage();
  page.setDefaultTimeout(5000);
  page.on("pageerror", (err) => pageErrors.push(err.message));
  page.on("console", (msg) => {
    if (/Content Security Policy|Refused to (load|execute|apply)/i.test(msg.text())) cspViolations.push(msg.text());
  });
});

afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

describe("admin pages in Chromium", () => {
  it("serves /login and /manage as HTML with a strict CSP, no-store, and / redirects to /manage", async () => {
    for (const p of ["/login", "/manage"]) {
      const res = await fetch(`${stack.url}${p}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(res.headers.get("cache-control")).toBe("no-store");
      const csp = res.headers.get("content-security-policy") ?? "";
      for (const d of ["default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'"]) expect(csp).toContain(d);
      expect(csp).not.toContain("unsafe-inline");
      const html = await res.text();
      expect(html).toContain('src="/static/admin/admin.js"');
      expect(html).not.toMatch(/<script>|<style|style="|https?:\/\//); // nothing inline, nothing remote
    }
    for (const p of ["/static/admin/admin.js", "/static/admin/admin.css"]) expect((await fetch(`${stack.url}${p}`)).status).toBe(200);
    const root = await fetch(`${stack.url}/`, { redirect: "manual" });
    expect(root.status).toBe(302);
    expect(root.headers.get("location")).toBe("/manage");
  });

  it("sends /manage without a session to /login, rejects a wrong password, and signs in", async () => {
    await page.goto(`${stack.url}/manage`);
    await page.waitForURL(/\/login$/);
    await expect.poll(() => page.inputValue("#username")).toBe("admin");
    expect(await page.textContent("body")).toContain("generated admin password");

    await page.fill("#password", "definitely-wrong");
    await page.click("#login-submit");
    const err = page.locator("#login-error");
    await err.waitFor({ state: "visible" });
    expect(await err.textContent()).toBe("Invalid username or password");
    expect(page.url()).toMatch(/\/login$/);

    await page.fill("#password", ADMIN_PASSWORD);
    await page.click("#login-submit");
    await page.waitForURL(/\/manage$/);
    expect(await page.evaluate(() => sessionStorage.getItem("grok2api.admin.session"))).toMatch(/^[\w-]{20,}$/);
    await expect.poll(() => page.textContent("#stat-total")).toBe("0");
    await expect.poll(() => page.isVisible("#accounts-empty")).toBe(true);
    expect(await page.inputValue("#base-url")).toBe(`${stack.url}/v1`);
    expect(await page.textContent("#origin-url")).toBe(stack.url);
    expect(await page.textContent("#storage-mode")).toContain("FILE");
  });

  let a: { sso: string };
  let b: { sso: string };

  it("adds two accounts from the textarea and shows them masked", async () => {
    a = stack.fake.addAccount();
    b = stack.fake.addAccount();
    await page.fill("#add-tokens", `${a.sso}\n\n  sso=${b.sso}; Path=/; Secure  \n`);
    await page.selectOption("#add-type", "sso");
    await page.click("#add-submit");
    await expect.poll(() => page.textContent("#add-msg")).toBe("Added 2 token(s)");
    await expect.poll(() => rows().count()).toBe(2);
    expect(await page.inputValue("#add-tokens")).toBe("");
    for (const acc of [a, b]) {
      const r = row(acc.sso);
      expect(await r.count()).toBe(1);
      expect(await r.locator("td.token").textContent()).toBe(mask(acc.sso));
      expect(await r.locator("td.type").textContent()).toContain("sso");
      expect(await r.locator("td.state").textContent()).toContain("未使用");
    }
    // The whole cookie never appears in the page, only its mask.
    const html = await page.content();
    expect(html).not.toContain(a.sso);
    expect(html).not.toContain(b.sso);
    await expect.poll(() => page.textContent("#stat-total")).toBe("2");
    expect(await page.textContent("#shown-count")).toBe("2 accounts");
  });

  it("tests an account and shows it valid with its synced quota", async () => {
    await row(a.sso).getByRole("button", { name: "Test" }).click();
    const result = row(a.sso).locator(".test-result");
    await result.waitFor({ state: "visible" });
    expect(await result.textContent()).toMatch(/^✓ Token is valid · \d+\/\d+ fast left$/);
    expect(await result.getAttribute("class")).toContain("msg-ok");
    await expect.poll(() => row(a.sso).locator("td.quota").textContent()).toMatch(/^\d+ \/ 30confirmed$/);
    expect(await row(a.sso).locator("td.state").textContent()).toContain("正常");
    expect(await page.textContent("#toast")).toContain("Token is valid");
  });

  it("edits tags and note, and filters by tag", async () => {
    await row(b.sso).getByRole("button", { name: "Edit" }).click();
    await page.locator("#edit-dialog").waitFor({ state: "visible" });
    expect(await page.textContent("#edit-token")).toContain(mask(b.sso));
    await page.fill("#edit-tags", "team-b, vip, team-b");
    await page.fill("#edit-note", "backup <b>account</b>");
    await page.click("#edit-save");
    await page.locator("#edit-dialog").waitFor({ state: "hidden" });
    await expect.poll(() => row(b.sso).locator("td.tags .tag").allTextContents()).toEqual(["team-b", "vip"]);
    // User text is shown as text, never parsed as HTML.
    expect(await row(b.sso).locator("td.note").textContent()).toBe("backup <b>account</b>");
    expect(await row(b.sso).locator("td.note b").count()).toBe(0);
    const stored = (await api("GET", "/api/tokens", undefined, await stack.adminToken())).json.data.find((d: any) => d.token === b.sso);
    expect(stored).toMatchObject({ tags: ["team-b", "vip"], note: "backup <b>account</b>" });

    await page.fill("#filter", "team-b");
    await expect.poll(() => rows().count()).toBe(1);
    expect(await rows().first().locator("td.token").textContent()).toBe(mask(b.sso));
    expect(await page.textContent("#shown-count")).toBe("1 of 2 shown");
    await page.fill("#filter", "");
    await expect.poll(() => rows().count()).toBe(2);
    // Clicking a tag filters by exactly that tag.
    await row(b.sso).getByRole("button", { name: "vip" }).click();
    expect(await page.inputValue("#filter")).toBe("tag:vip");
    await expect.poll(() => rows().count()).toBe(1);
    await page.fill("#filter", "no-such-tag");
    await expect.poll(() => rows().count()).toBe(0);
    await page.fill("#filter", "");
    await page.selectOption("#filter-state", "active");
    await expect.poll(() => rows().count()).toBe(2);
    await page.selectOption("#filter-state", "dead");
    await expect.poll(() => rows().count()).toBe(0);
    await page.selectOption("#filter-state", "");
    await expect.poll(() => rows().count()).toBe(2);
  });

  it("saves only changed settings and shows the server's message for an invalid value", async () => {
    const field = page.locator("#set-grok-stream_chunk_timeout");
    await field.waitFor();
    expect(await field.getAttribute("type")).toBe("number");
    expect(await field.inputValue()).toBe("120");
    expect(await page.locator("#set-grok-show_thinking").getAttribute("type")).toBe("checkbox");
    expect(await page.locator("#set-grok-show_thinking").isChecked()).toBe(true);
    expect(await page.locator("#set-grok-chat_transport option").allTextContents()).toEqual(["gateway", "rest", "auto"]);
    expect(await page.locator("#set-grok-thinking_output option").allTextContents()).toEqual(["reasoning_content", "reasoning", "think-tags", "hidden"]);
    expect(await page.locator("#set-grok-statsig_mode option").allTextContents()).toEqual(["dynamic", "static", "signed"]);
    expect(await page.locator("#set-global-image_mode").inputValue()).toBe("url");
    expect(await page.isDisabled("#settings-save")).toBe(true);

    // Watch what the page sends: only the changed field.
    const sent: unknown[] = [];
    const onRequest = (req: import("playwright-core").Request) => {
      if (req.url().endsWith("/api/settings") && req.method() === "POST") sent.push(req.postDataJSON());
    };
    page.on("request", onRequest);
    await field.fill("45");
    expect(await page.textContent("#settings-save")).toBe("Save 1 change");
    await page.click("#settings-save");
    await expect.poll(() => page.textContent("#settings-msg")).toBe("Saved 1 setting.");
    expect(sent).toEqual([{ grok_config: { stream_chunk_timeout: 45 } }]);
    const token = await stack.adminToken();
    expect((await api("GET", "/api/settings", undefined, token)).json.data.grok.stream_chunk_timeout).toBe(45);
    expect(await field.inputValue()).toBe("45");

    await field.fill("99999");
    await page.click("#settings-save");
    const expected = (await api("POST", "/api/settings", { grok_config: { stream_chunk_timeout: 99999 } }, token)).json.message as string;
    expect(expected).toContain("grok.stream_chunk_timeout");
    await expect.poll(() => page.textContent("#settings-msg")).toBe(expected);
    expect(await page.locator("#settings-msg").getAttribute("class")).toContain("msg-error");
    expect(await field.getAttribute("aria-invalid")).toBe("true");
    expect((await api("GET", "/api/settings", undefined, token)).json.data.grok.stream_chunk_timeout).toBe(45);
    page.off("request", onRequest);

    await page.evaluate(() => window.scrollTo(0, 0)); // the sticky header belongs at the top of a full-page shot
    await page.screenshot({ path: path.join(RESULTS, "manage.png"), fullPage: true });
    await page.click("#settings-reset");
    expect(await field.inputValue()).toBe("45");
  });

  it("deletes an account only after confirming", async () => {
    await row(a.sso).getByRole("button", { name: "Delete" }).click();
    const dialog = page.locator("#confirm-dialog");
    await dialog.waitFor({ state: "visible" });
    expect(await page.textContent("#confirm-text")).toContain(mask(a.sso));
    await page.click("#confirm-cancel");
    await dialog.waitFor({ state: "hidden" });
    expect(await rows().count()).toBe(2);

    await row(a.sso).getByRole("button", { name: "Delete" }).click();
    await dialog.waitFor({ state: "visible" });
    await page.click("#confirm-ok");
    await expect.poll(() => rows().count()).toBe(1);
    expect(await rows().first().locator("td.token").textContent()).toBe(mask(b.sso));
    await expect.poll(() => page.textContent("#stat-total")).toBe("1");
    const list = (await api("GET", "/api/tokens", undefined, await stack.adminToken())).json;
    expect(list.data.map((d: any) => d.token)).toEqual([b.sso]);
  });

  it("shows when the next account frees up, when the server says so", async () => {
    const at = new Date();
    at.setHours(23, 59, 0, 0);
    expect(await page.isVisible("#stat-next")).toBe(false);
    await page.route("**/api/stats", async (route) => {
      const res = await route.fetch();
      const json = await res.json();
      json.data.next_reset_at = at.getTime();
      await route.fulfill({ response: res, json });
    });
    await page.click("#refresh");
    await expect.poll(() => page.textContent("#stat-next")).toBe("Next account frees up at 23:59");
    await page.unroute("**/api/stats");
    await page.click("#refresh");
    await expect.poll(() => page.isVisible("#stat-next")).toBe(false);
  });

  it("logs out: back to /login, the session is dead, and /manage sends you to /login again", async () => {
    const session = (await page.evaluate(() => sessionStorage.getItem("grok2api.admin.session"))) as string;
    await page.click("#logout");
    await page.waitForURL(/\/login$/);
    expect(await page.evaluate(() => sessionStorage.getItem("grok2api.admin.session"))).toBeNull();
    expect((await api("GET", "/api/tokens", undefined, session)).status).toBe(401);
    await page.goto(`${stack.url}/manage`);
    await page.waitForURL(/\/login$/);
    expect(await page.isVisible("#login-form")).toBe(true);
  });

  it("ran without script errors or CSP violations", () => {
    expect(pageErrors).toEqual([]);
    expect(cspViolations).toEqual([]);
  });
});
