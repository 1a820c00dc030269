import { useEffect, useRef, useState } from "react";
import { I18nProvider, LANGS, useI18n } from "./i18n";
import { get, onSessionExpired, post, useBearer } from "./lib/api";
import { loginUrl, PAGES, type PageId, useHashPage } from "./lib/router";
import { Loading, ErrorBox } from "./components/States";
import { ToastProvider } from "./components/Toasts";
import { Login } from "./pages/Login";
import { Overview } from "./pages/Overview";
import { Accounts } from "./pages/Accounts";
import { Settings } from "./pages/Settings";
import { Media } from "./pages/Media";
import { Clients } from "./pages/Clients";
import { Logs } from "./pages/Logs";

/** The desktop window's bridge (src/shared/desktop-api.ts), when this build runs there. */
interface DesktopBridge {
  getServerInfo(): Promise<{ session: string }>;
}

async function desktopSession(): Promise<void> {
  const bridge = (window as unknown as { grok2apiDesktop?: DesktopBridge }).grok2apiDesktop;
  if (!bridge) return;
  try {
    useBearer((await bridge.getServerInfo()).session);
  } catch {
    // no session from the window: the cookie (or /login) it is
  }
}

export function App() {
  return (
    <I18nProvider>
      <ToastProvider>{location.pathname === "/login" ? <Login /> : <Manager />}</ToastProvider>
    </I18nProvider>
  );
}

export function LanguageSwitch() {
  const { t, lang, setLang } = useI18n();
  return (
    <label className="lang-switch">
      <span className="sr-only">{t("nav.language")}</span>
      <select id="lang" value={lang} onChange={(e) => setLang(e.target.value as typeof lang)} aria-label={t("nav.language")}>
        {LANGS.map((l) => (
          <option key={l} value={l}>
            {t(`lang.${l}`)}
          </option>
        ))}
      </select>
    </label>
  );
}

const PAGE_COMPONENTS: Record<PageId, () => React.JSX.Element> = { overview: Overview, accounts: Accounts, settings: Settings, media: Media, clients: Clients, logs: Logs };

function Manager() {
  const { t } = useI18n();
  const page = useHashPage();
  const [session, setSession] = useState<"checking" | "ok" | Error>("checking");

  useEffect(() => {
    onSessionExpired(() => location.replace(loginUrl(true)));
    void (async () => {
      await desktopSession();
      try {
        const r = await get<{ data: { signed_in: boolean } }>("/api/session");
        if (r.data.signed_in) setSession("ok");
        else location.replace(loginUrl(false));
      } catch (err) {
        setSession(err as Error);
      }
    })();
    return () => onSessionExpired(null);
  }, []);

  const first = useRef(true);
  useEffect(() => {
    document.title = `${t(`nav.${page}`)} · ${t("app.name")}`;
  }, [page, t]);
  useEffect(() => {
    // After a page change (not on load) focus moves to the content, so keyboard users start there.
    if (first.current) first.current = false;
    else document.getElementById("main")?.focus({ preventScroll: true });
  }, [page]);

  const Page = PAGE_COMPONENTS[page];
  return (
    <div className="shell">
      <a className="skip" href="#main">
        {t("app.skip")}
      </a>
      <header className="topbar">
        <a className="brand" href="#/overview">
          <span className="logo" aria-hidden="true" />
          {t("app.name")}
        </a>
        <nav aria-label={t("nav.label")} className="nav">
          <ul>
            {PAGES.map((p) => (
              <li key={p}>
                <a href={`#/${p}`} id={`nav-${p}`} aria-current={p === page ? "page" : undefined}>
                  {t(`nav.${p}`)}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div className="topbar-end">
          <LanguageSwitch />
          <button
            type="button"
            className="btn btn-ghost"
            id="logout"
            onClick={async () => {
              await post("/api/logout").catch(() => {});
              location.replace("/login");
            }}
          >
            {t("nav.logout")}
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {session === "checking" ? <Loading /> : session instanceof Error ? <ErrorBox error={session} onRetry={() => location.reload()} /> : <Page key={page} />}
      </main>
    </div>
  );
}
