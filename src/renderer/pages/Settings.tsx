import { useCallback } from "react";
import type { SettingsData, SettingsIssue, SettingsSchemaData } from "../../shared/admin-api";
import { useI18n } from "../i18n";
import { get, post } from "../lib/api";
import type { Change } from "../lib/settings-form";
import { useLoad } from "../components/hooks";
import { ErrorBox, Loading } from "../components/States";
import { SettingsForm } from "../components/SettingsForm";
import { useToast } from "../components/Toasts";

async function loadSettings(): Promise<{ schema: SettingsSchemaData; values: SettingsData }> {
  const [schema, values] = await Promise.all([get<{ data: SettingsSchemaData }>("/api/settings/schema"), get<{ data: SettingsData }>("/api/settings")]);
  return { schema: schema.data, values: values.data };
}

export function Settings() {
  const { t } = useI18n();
  const toast = useToast();
  const d = useLoad(loadSettings);
  const validate = useCallback(async (body: object) => (await post<{ data: { issues: SettingsIssue[] } }>("/api/settings/validate", body)).data.issues, []);
  const save = useCallback(async (body: object) => void (await post("/api/settings", body)), []);
  const onSaved = useCallback(
    (changes: Change[]) => {
      if (changes.some((c) => c.field.name === "admin_password")) {
        toast(t("settings.passwordChanged"));
        setTimeout(() => location.replace("/login"), 1500);
        return;
      }
      void get<{ data: SettingsData }>("/api/settings").then((r) => d.setData((x) => (x ? { ...x, values: r.data } : x)));
    },
    [d, t, toast],
  );

  return (
    <section aria-labelledby="settings-title" className="page">
      <div className="page-head">
        <h1 id="settings-title">{t("settings.title")}</h1>
      </div>
      <p className="muted">{t("settings.intro")}</p>
      {!d.data ? d.error ? <ErrorBox error={d.error} onRetry={() => void d.reload()} /> : <Loading /> : <SettingsForm schema={d.data.schema} values={d.data.values} validate={validate} save={save} onSaved={onSaved} />}
    </section>
  );
}
