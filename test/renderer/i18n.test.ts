import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { parseAst } from "vite";
import { describe, expect, it } from "vitest";
import { en } from "../../src/renderer/i18n/en";
import { zh } from "../../src/renderer/i18n/zh";
import { detectLang, translate } from "../../src/renderer/i18n";

const RENDERER = path.resolve(import.meta.dirname, "../../src/renderer");

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe("message catalogues", () => {
  it("zh has every en key with the same placeholders, and nothing left in English where en has words", () => {
    expect(Object.keys(zh).sort()).toEqual(Object.keys(en).sort());
    for (const k of Object.keys(en) as Array<keyof typeof en>) {
      expect([...new Set(placeholders(zh[k]))], k).toEqual([...new Set(placeholders(en[k]))]);
      expect(zh[k].trim(), k).not.toBe("");
    }
    // Product names and code-like labels may stay; prose must be translated.
    const PRODUCT_NAMES = new Set(["recipe.cherry", "recipe.claude", "recipe.codex"]);
    const untranslated = (Object.keys(en) as Array<keyof typeof en>).filter((k) => en[k] === zh[k] && !PRODUCT_NAMES.has(k) && /[a-z]{3,} [a-z]{3,}/i.test(en[k]));
    expect(untranslated).toEqual([]);
  });

  it("fills values and picks plurals", () => {
    expect(translate("en", "overview.total", { n: 1 })).toBe("1 account in total");
    expect(translate("en", "overview.total", { n: 3 })).toBe("3 accounts in total");
    expect(translate("zh", "overview.total", { n: 3 })).toBe("共 3 个账号");
    expect(translate("en", "quota.left", { remaining: 2, total: 9 })).toBe("2 of 9 left");
  });

  it("chooses the saved language, else the browser's, else English", () => {
    expect(detectLang(null, ["zh-CN", "en"])).toBe("zh");
    expect(detectLang(null, ["zh-TW"])).toBe("zh");
    expect(detectLang(null, ["de-DE", "en-GB"])).toBe("en");
    expect(detectLang(null, ["fr"])).toBe("en");
    expect(detectLang("en", ["zh-CN"])).toBe("en");
    expect(detectLang("zh", ["en-US"])).toBe("zh");
    expect(detectLang("xx", ["zh-CN"])).toBe("zh");
  });
});

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? (e.name === "i18n" ? [] : files(path.join(dir, e.name))) : e.name.endsWith(".tsx") ? [path.join(dir, e.name)] : []));
}

/** User-facing text in JSX: text children and the attributes people read or hear. */
function hardCoded(source: string): string[] {
  const found: string[] = [];
  const READ = new Set(["title", "placeholder", "alt", "aria-label", "label"]);
  const walk = (n: unknown): void => {
    if (!n || typeof n !== "object") return;
    if (Array.isArray(n)) return n.forEach(walk);
    const node = n as { type?: string; value?: unknown; name?: { name?: string }; raw?: string };
    if (node.type === "JSXText" && /\p{L}/u.test(String(node.value))) found.push(String(node.value).trim());
    if (node.type === "JSXAttribute" && READ.has(String(node.name?.name)) && (node.value as { type?: string })?.type === "Literal" && /\p{L}/u.test(String((node.value as { value?: unknown }).value))) found.push(`${node.name?.name}="${(node.value as { value?: unknown }).value}"`);
    for (const v of Object.values(node)) if (v && typeof v === "object") walk(v);
  };
  walk(parseAst(source, { lang: "tsx" }));
  return found;
}

describe("no hard-coded strings", () => {
  it("the checker finds text and readable attributes", () => {
    expect(hardCoded(`const x = <p title="Hi there">Hello {y}<b aria-label={t("a")}>×</b></p>;`).sort()).toEqual(["Hello", 'title="Hi there"']);
  });

  it("every component takes its words from the catalogues", () => {
    const all = files(RENDERER);
    expect(all.length).toBeGreaterThan(10);
    const offenders = all.flatMap((f) => hardCoded(readFileSync(f, "utf8")).map((s) => `${path.relative(RENDERER, f)}: ${s}`));
    expect(offenders).toEqual([]);
  });
});
