import { useState } from "react";
import type { SettingsData } from "../../shared/admin-api";
import { type MessageKey, useI18n } from "../i18n";
import { get } from "../lib/api";
import { type RecipeId, RECIPES, recipeCode } from "../lib/recipes";
import { useLoad } from "../components/hooks";
import { ErrorBox, Loading } from "../components/States";
import { CodeBlock, CopyField } from "../components/Copy";

const PLACEHOLDER_KEY = "sk-anything";

const RECIPE_TEXT: Record<RecipeId, MessageKey> = {
  cherry: "recipe.cherryText",
  lobe: "recipe.lobeText",
  nextchat: "recipe.nextchatText",
  tavern: "recipe.tavernText",
  openaiPy: "recipe.sdkText",
  openaiJs: "recipe.sdkText",
  claude: "recipe.claudeText",
  codex: "recipe.codexText",
  curl: "recipe.curlText",
};

async function loadClients() {
  const s = await get<{ data: SettingsData }>("/api/settings");
  const base = String(s.data.global.base_url ?? "").replace(/\/+$/, "");
  const keys = String(s.data.grok.api_key ?? "").split(",").map((k) => k.trim()).filter(Boolean);
  return { origin: base || location.origin, key: keys[0] ?? null, fromEnv: s.data.grok.api_key_from_env === true };
}

/** Copy-ready client setup: base URLs, the key, recipes, and a live test through the proxy. */
export function Clients() {
  const { t } = useI18n();
  const d = useLoad(loadClients);
  if (!d.data) return d.error ? <ErrorBox error={d.error} onRetry={() => void d.reload()} /> : <Loading />;
  const { origin, key, fromEnv } = d.data;
  const shownKey = key ?? PLACEHOLDER_KEY;
  const input = { origin, key: shownKey, model: "grok-chat-fast" };
  return (
    <section aria-labelledby="clients-title" className="page">
      <div className="page-head">
        <h1 id="clients-title">{t("clients.title")}</h1>
      </div>
      <div className="card">
        <p>{t("clients.intro")}</p>
        <CopyField id="base-url" label={t("clients.baseV1")} value={`${origin}/v1`} />
        <CopyField id="origin-url" label={t("clients.base")} value={origin} />
        {key ? <CopyField id="api-key" label={t("clients.key")} value={key} secret /> : null}
        <p className="muted small">{key ? (fromEnv ? t("clients.keyFromEnv") : "") : t("clients.noKey")}</p>
      </div>
      <ChatTest origin={location.origin} apiKey={key} />
      <h2>{t("clients.recipes")}</h2>
      <div className="recipes">
        {RECIPES.map((id) => {
          const code = recipeCode(id, input);
          const textKey = RECIPE_TEXT[id];
          return (
            <article className="card recipe" key={id} id={`recipe-${id}`}>
              <h3>{t(`recipe.${id}`)}</h3>
              <p>{t(textKey)}</p>
              {code ? <CodeBlock code={code} /> : null}
            </article>
          );
        })}
      </div>
    </section>
  );
}

interface ModelList {
  data: Array<{ id: string }>;
}

/** Sends one chat through /v1/chat/completions from this page, as a client would. */
function ChatTest({ origin, apiKey }: { origin: string; apiKey: string | null }) {
  const { t } = useI18n();
  const headers = { "content-type": "application/json", ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) };
  const models = useLoad(async () => {
    const res = await fetch(`${origin}/v1/models`, { headers });
    if (!res.ok) return [] as string[];
    return ((await res.json()) as ModelList).data.map((m) => m.id);
  });
  const [model, setModel] = useState("grok-chat-fast");
  const [prompt, setPrompt] = useState(() => t("clients.testDefaultPrompt"));
  const [busy, setBusy] = useState(false);
  const [out, setOut] = useState<{ ok: boolean; text: string; head: string } | null>(null);
  return (
    <form
      className="card"
      id="chat-test"
      onSubmit={async (e) => {
        e.preventDefault();
        setBusy(true);
        setOut(null);
        const started = performance.now();
        try {
          const res = await fetch(`${origin}/v1/chat/completions`, { method: "POST", headers, body: JSON.stringify({ model, messages: [{ role: "user", content: prompt }], stream: false }) });
          const body = (await res.json().catch(() => ({}))) as { model?: string; choices?: Array<{ message?: { content?: string } }>; error?: { message?: string } };
          const ms = Math.round(performance.now() - started);
          if (res.ok) setOut({ ok: true, head: t("clients.testAnswer", { model: body.model ?? model, ms }), text: body.choices?.[0]?.message?.content ?? "" });
          else setOut({ ok: false, head: t("clients.testFailed", { status: res.status, message: body.error?.message ?? res.statusText }), text: "" });
        } catch (err) {
          setOut({ ok: false, head: t("common.networkError"), text: (err as Error).message });
        } finally {
          setBusy(false);
        }
      }}
    >
      <h2>{t("clients.test")}</h2>
      <p className="muted small">{t("clients.testHelp")}</p>
      <div className="row wrap">
        <label htmlFor="test-model">{t("clients.testModel")}</label>
        <select id="test-model" value={model} onChange={(e) => setModel(e.target.value)}>
          {[...new Set([model, ...(models.data ?? [])])].map((m) => (
            <option key={m} value={m}>
              {m}
            </option>
          ))}
        </select>
      </div>
      <label htmlFor="test-prompt">{t("clients.testPrompt")}</label>
      <input id="test-prompt" value={prompt} onChange={(e) => setPrompt(e.target.value)} />
      <button type="submit" className="btn btn-primary" id="test-send" disabled={busy || !prompt.trim()}>
        {busy ? t("clients.testSending") : t("clients.testSend")}
      </button>
      {out ? (
        <div className={`result result-${out.ok ? "ok" : "error"}`} id="test-answer" role={out.ok ? "status" : "alert"}>
          <p>{out.head}</p>
          {out.text ? <blockquote>{out.text}</blockquote> : null}
        </div>
      ) : null}
    </form>
  );
}
