import { useState } from "react";
import type { SettingsData } from "../../shared/admin-api";
import { useI18n } from "../i18n";
import { ApiError, get, post } from "../lib/api";
import { formatBytes, formatDateTime } from "../lib/format";
import { useLoad } from "../components/hooks";
import { Empty, ErrorBox, errorText, Loading } from "../components/States";
import { ConfirmDialog } from "../components/Dialog";
import { CopyButton } from "../components/Copy";
import { useToast } from "../components/Toasts";

interface CacheSize {
  image_size_bytes: number;
  video_size_bytes: number;
  image_count?: number;
  video_count?: number;
}
interface CacheItem {
  name: string;
  kind: "image" | "video";
  mime: string;
  size: number;
  created_at: number;
  prompt: string | null;
  path: string;
  url: string;
}
type Kind = "all" | "image" | "video";

const PAGE = 60;

/** null when this server has no media cache routes (404): the page then says so. */
async function loadMedia(kind: Kind, limit: number) {
  try {
    const [size, list, settings] = await Promise.all([
      get<{ data: CacheSize }>("/api/cache/size"),
      get<{ data: CacheItem[]; total: number }>(`/api/cache/list?kind=${kind}&limit=${limit}`),
      get<{ data: SettingsData }>("/api/settings"),
    ]);
    return { size: size.data, items: list.data, total: list.total, caps: { image: Number(settings.data.global.image_cache_max_size_mb ?? 0) * 1024 * 1024, video: Number(settings.data.global.video_cache_max_size_mb ?? 0) * 1024 * 1024 } };
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  }
}

/** The media cache browser: size against the caps, clear per kind, a grid to open, copy or delete. */
export function Media() {
  const { t, locale } = useI18n();
  const toast = useToast();
  const [kind, setKind] = useState<Kind>("all");
  const [limit, setLimit] = useState(PAGE);
  const d = useLoad(() => loadMedia(kind, limit), [kind, limit]);
  const [confirm, setConfirm] = useState<{ kind: Kind } | { item: CacheItem } | null>(null);

  const clear = async (k: Kind) => {
    try {
      const r = await post<{ data: { deleted_count: number } }>(k === "all" ? "/api/cache/clear" : `/api/cache/clear/${k}s`);
      toast(t("media.cleared", { n: r.data.deleted_count }));
    } catch (err) {
      toast(errorText(err, t), "error");
    }
    await d.reload();
  };
  const remove = async (item: CacheItem) => {
    try {
      await post("/api/cache/delete", { name: item.name, kind: item.kind });
      toast(t("media.cleared", { n: 1 }));
    } catch (err) {
      toast(errorText(err, t), "error");
    }
    await d.reload();
  };

  const head = (
    <div className="page-head">
      <h1 id="media-title">{t("media.title")}</h1>
      <button type="button" className="btn" id="refresh" onClick={() => void d.reload()} disabled={d.loading}>
        {t("common.refresh")}
      </button>
    </div>
  );
  if (d.data === undefined)
    return (
      <section aria-labelledby="media-title" className="page">
        {head}
        {d.error ? <ErrorBox error={d.error} onRetry={() => void d.reload()} /> : <Loading />}
      </section>
    );
  if (d.data === null)
    return (
      <section aria-labelledby="media-title" className="page">
        {head}
        <div className="card">
          <Empty title={t("media.unavailable")}>{t("media.unavailableHelp")}</Empty>
        </div>
      </section>
    );
  const { size, items, total, caps } = d.data;
  const what = (k: Kind) => (k === "image" ? t("media.images") : k === "video" ? t("media.videos") : t("media.all"));

  return (
    <section aria-labelledby="media-title" className="page">
      {head}
      <div className="grid-2">
        {(["image", "video"] as const).map((k) => {
          const bytes = k === "image" ? size.image_size_bytes : size.video_size_bytes;
          const count = k === "image" ? size.image_count : size.video_count;
          const pct = caps[k] ? Math.min(100, (bytes / caps[k]) * 100) : 0;
          return (
            <div className="card" key={k}>
              <h2>{what(k)}</h2>
              <span className="bar bar-wide" role="meter" aria-valuemin={0} aria-valuemax={caps[k]} aria-valuenow={bytes} aria-label={what(k)}>
                <span className={`bar-fill ${pct > 90 ? "quota-low" : ""}`} style={{ width: `${pct}%` }} />
              </span>
              <p>
                {t("media.usage", { size: formatBytes(bytes, locale), cap: formatBytes(caps[k], locale) })}
                {count !== undefined ? <span className="muted"> · {t("media.files", { n: count })}</span> : null}
              </p>
              <button type="button" className="btn btn-small btn-danger" id={`clear-${k}`} disabled={!bytes} onClick={() => setConfirm({ kind: k })}>
                {k === "image" ? t("media.clearImages") : t("media.clearVideos")}
              </button>
            </div>
          );
        })}
      </div>
      <div className="card">
        <div className="toolbar">
          <div className="segmented" role="group" aria-label={t("media.title")}>
            {(["all", "image", "video"] as const).map((k) => (
              <button key={k} type="button" className="btn btn-small" aria-pressed={kind === k} onClick={() => { setKind(k); setLimit(PAGE); }}>
                {what(k)}
              </button>
            ))}
          </div>
          <button type="button" className="btn btn-small btn-danger" id="clear-all" disabled={!total} onClick={() => setConfirm({ kind: "all" })}>
            {t("media.clearAll")}
          </button>
        </div>
        {items.length === 0 ? (
          <Empty title={t("media.empty")}>{t("media.emptyHelp")}</Empty>
        ) : (
          <>
            <ul className="media-grid" id="media-grid">
              {items.map((it) => (
                <li key={`${it.kind}-${it.name}`} className="media-item">
                  <a href={it.path} target="_blank" rel="noopener noreferrer" className="media-thumb" aria-label={`${t("media.open")}: ${it.name}`}>
                    {it.kind === "image" ? <img src={it.path} alt={it.prompt ?? it.name} loading="lazy" /> : <video src={it.path} preload="metadata" muted />}
                  </a>
                  <div className="media-meta">
                    <p className="media-prompt" title={it.prompt ?? undefined}>
                      {it.prompt ?? <span className="muted">{t("media.noPrompt")}</span>}
                    </p>
                    <p className="muted small">
                      {formatBytes(it.size, locale)} · {formatDateTime(it.created_at, locale)}
                    </p>
                    <div className="row">
                      <a className="btn btn-small" href={it.path} target="_blank" rel="noopener noreferrer">
                        {t("media.open")}
                      </a>
                      <CopyButton text={it.url} label={t("media.copyLink")} />
                      <button type="button" className="btn btn-small btn-danger" onClick={() => setConfirm({ item: it })}>
                        {t("media.delete")}
                      </button>
                    </div>
                  </div>
                </li>
              ))}
            </ul>
            {items.length < total ? (
              <button type="button" className="btn" onClick={() => setLimit((l) => l + PAGE)}>
                {t("media.more")}
              </button>
            ) : null}
          </>
        )}
      </div>
      <ConfirmDialog
        open={confirm !== null}
        danger
        title={confirm && "item" in confirm ? t("media.confirmDeleteTitle") : t("media.confirmClearTitle")}
        confirmLabel={confirm && "item" in confirm ? t("media.delete") : t("media.clearAll")}
        onCancel={() => setConfirm(null)}
        onConfirm={() => {
          const c = confirm;
          setConfirm(null);
          if (!c) return;
          if ("item" in c) void remove(c.item);
          else void clear(c.kind);
        }}
      >
        <p>{confirm && "item" in confirm ? t("media.confirmDelete", { name: confirm.item.name }) : t("media.confirmClear", { what: confirm ? what(confirm.kind) : "" })}</p>
      </ConfirmDialog>
    </section>
  );
}
