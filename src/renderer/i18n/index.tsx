import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from "react";
import type { Lang, Text } from "../../shared/settings-meta";
import { en, type MessageKey } from "./en";
import { zh } from "./zh";

export type { Lang, MessageKey };
export type Vars = Record<string, string | number>;

const CATALOGS: Record<Lang, Record<MessageKey, string>> = { en, zh };
export const LANGS: Lang[] = ["en", "zh"];
const STORAGE_KEY = "grok2api.lang";

/** The message for `key` in `lang`: `{name}` filled from vars, "one|other" picked by vars.n. */
export function translate(lang: Lang, key: MessageKey, vars?: Vars): string {
  let s: string = CATALOGS[lang][key] ?? en[key] ?? key;
  if (s.includes("|") && vars && typeof vars.n === "number") {
    const [one, other] = s.split("|") as [string, string];
    s = new Intl.PluralRules(lang === "zh" ? "zh-CN" : "en").select(vars.n) === "one" ? one : other;
  }
  return vars ? s.replace(/\{(\w+)\}/g, (m, name: string) => (name in vars ? String(vars[name]) : m)) : s;
}

/** The saved choice, else the first browser/OS language we have (zh-* → 简体中文), else English. */
export function detectLang(saved: string | null, languages: readonly string[]): Lang {
  if (saved === "en" || saved === "zh") return saved;
  for (const l of languages) {
    const low = l.toLowerCase();
    if (low.startsWith("zh")) return "zh";
    if (low.startsWith("en")) return "en";
  }
  return "en";
}

function savedLang(): string | null {
  try {
    return localStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

export interface I18n {
  lang: Lang;
  t: (key: MessageKey, vars?: Vars) => string;
  /** Picks the text of a shared {en, zh} pair (settings metadata). */
  pick: (text: Text) => string;
  setLang: (lang: Lang) => void;
  locale: string;
}

const Ctx = createContext<I18n | null>(null);

export function I18nProvider({ children, initial }: { children: ReactNode; initial?: Lang }) {
  const [lang, setLangState] = useState<Lang>(() => initial ?? detectLang(savedLang(), navigator.languages ?? [navigator.language]));
  const setLang = useCallback((l: Lang) => {
    setLangState(l);
    try {
      localStorage.setItem(STORAGE_KEY, l);
    } catch {
      // private mode: the choice lasts for this page only
    }
  }, []);
  useEffect(() => {
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  }, [lang]);
  const value = useMemo<I18n>(() => ({ lang, locale: lang === "zh" ? "zh-CN" : "en", t: (k, v) => translate(lang, k, v), pick: (x) => x[lang], setLang }), [lang, setLang]);
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useI18n(): I18n {
  const v = useContext(Ctx);
  if (!v) throw new Error("useI18n outside I18nProvider");
  return v;
}
