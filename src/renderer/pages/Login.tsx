import { useEffect, useState } from "react";
import { LanguageSwitch } from "../App";
import { useI18n } from "../i18n";
import { ApiError, get, post } from "../lib/api";
import { safeNext } from "../lib/router";
import { errorText } from "../components/States";

/** /login: signs in (the server sets the session cookie) and goes back where the user was. */
export function Login() {
  const { t } = useI18n();
  const params = new URLSearchParams(location.search);
  const next = safeNext(params.get("next"));
  const [username, setUsername] = useState("admin");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    document.title = `${t("login.title")} · ${t("app.name")}`;
  }, [t]);
  useEffect(() => {
    // Already signed in (another tab, a reload): straight on.
    void get<{ data: { signed_in: boolean } }>("/api/session").then((r) => r.data.signed_in && location.replace(next), () => {});
  }, [next]);

  return (
    <div className="login-page">
      <div className="login-top">
        <LanguageSwitch />
      </div>
      <main className="card login-card">
        <h1>
          <span className="logo" aria-hidden="true" />
          {t("app.name")}
        </h1>
        <p className="muted">{t("app.tagline")}</p>
        {params.get("expired") ? (
          <p className="notice" role="status">
            {t("login.expired")}
          </p>
        ) : null}
        <form
          id="login-form"
          onSubmit={async (e) => {
            e.preventDefault();
            setBusy(true);
            setError(null);
            try {
              await post("/api/login", { username, password }, { allow401: true });
              location.replace(next);
            } catch (err) {
              setBusy(false);
              if (err instanceof ApiError && err.status === 401) setError(t("login.failed"));
              else if (err instanceof ApiError && err.status === 429) setError(t("login.throttled", { message: err.message }));
              else setError(errorText(err, t));
            }
          }}
        >
          <label htmlFor="username">{t("login.username")}</label>
          <input id="username" name="username" autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} required />
          <label htmlFor="password">{t("login.password")}</label>
          <input id="password" name="password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required autoFocus />
          {error ? (
            <p className="field-error" id="login-error" role="alert">
              {error}
            </p>
          ) : null}
          <button type="submit" className="btn btn-primary" id="login-submit" disabled={busy}>
            {busy ? t("login.busy") : t("login.submit")}
          </button>
        </form>
        <p className="muted small">{t("login.hint")}</p>
      </main>
    </div>
  );
}
