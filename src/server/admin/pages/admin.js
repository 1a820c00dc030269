// Grok2API admin pages (/login and /manage). Plain browser JavaScript, no build step, no network
// access beyond this server. Data from the server is only ever put into the page as text
// (textContent / attribute values), never as HTML.
"use strict";

(() => {
  const SESSION_KEY = "grok2api.admin.session";
  const REFRESH_MS = 10_000;

  // ------------------------------------------------------------------ helpers

  const $ = (id) => document.getElementById(id);

  /** Creates an element. `props`: className, text, title, attrs {}, dataset {}, on {event: fn}; children: nodes or strings (as text). */
  function el(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    if (props.className) node.className = props.className;
    if (props.text !== undefined && props.text !== null) node.textContent = String(props.text);
    if (props.title) node.title = String(props.title);
    for (const [k, v] of Object.entries(props.attrs ?? {})) if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? "" : String(v));
    for (const [k, v] of Object.entries(props.dataset ?? {})) node.dataset[k] = String(v);
    for (const [k, v] of Object.entries(props.on ?? {})) node.addEventListener(k, v);
    for (const c of children) if (c !== null && c !== undefined && c !== false) node.append(typeof c === "string" || typeof c === "number" ? String(c) : c);
    return node;
  }

  const session = () => sessionStorage.getItem(SESSION_KEY);
  const setSession = (t) => sessionStorage.setItem(SESSION_KEY, t);
  const clearSession = () => sessionStorage.removeItem(SESSION_KEY);

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  /** Calls the admin API. Throws ApiError with the server's message on HTTP errors; a 401 ends the session and goes back to /login. */
  async function api(method, path, body, { auth = true } = {}) {
    const headers = { accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    const tok = session();
    if (auth && tok) headers.authorization = `Bearer ${tok}`;
    let res;
    try {
      res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store", credentials: "same-origin" });
    } catch (err) {
      throw new ApiError(0, `Cannot reach the server (${err && err.message ? err.message : err})`);
    }
    let json = null;
    try {
      json = await res.json();
    } catch {
      json = null;
    }
    if (res.status === 401 && auth) {
      clearSession();
      location.replace("/login?expired=1");
      throw new ApiError(401, "Session expired");
    }
    if (!res.ok) throw new ApiError(res.status, (json && (json.message || (json.error && json.error.message))) || `HTTP ${res.status}`);
    return json ?? {};
  }

  const pad = (n) => String(n).padStart(2, "0");
  /** HH:MM, with the date in front when it is not today. */
  function fmtClock(ms) {
    const d = new Date(ms);
    const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
    const now = new Date();
    return d.toDateString() === now.toDateString() ? hm : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${hm}`;
  }
  const fmtFull = (ms) => new Date(ms).toLocaleString();
  function fmtAgo(ms) {
    const s = Math.round((Date.now() - ms) / 1000);
    if (s < 45) return "just now";
    if (s < 3600) return `${Math.round(s / 60)} min ago`;
    if (s < 86_400) return `${Math.round(s / 3600)} h ago`;
    return `${Math.round(s / 86_400)} d ago`;
  }
  /** First 8 … last 6 characters: enough to tell accounts apart, never the whole cookie. */
  function maskToken(t) {
    if (!t) return "";
    return t.length > 16 ? `${t.slice(0, 8)}…${t.slice(-6)}` : `${t.slice(0, 4)}…`;
  }

  let toastTimer = null;
  function toast(message, kind = "ok") {
    const t = $("toast");
    if (!t) return;
    t.textContent = message;
    t.classList.toggle("toast-error", kind === "error");
    t.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => (t.hidden = true), kind === "error" ? 7000 : 4000);
  }

  function setMsg(node, text, kind) {
    node.textContent = text || "";
    node.classList.toggle("msg-ok", kind === "ok");
    node.classList.toggle("msg-error", kind === "error");
  }

  // ------------------------------------------------------------------ /login

  async function initLogin() {
    const form = $("login-form");
    const err = $("login-error");
    const btn = $("login-submit");
    const params = new URLSearchParams(location.search);
    if (params.get("expired")) {
      err.textContent = "Your session has expired or was ended. Please sign in again.";
      err.hidden = false;
    }
    // Already signed in (e.g. opened /login in the same tab again)? Go straight to the manager.
    const existing = session();
    if (existing) {
      try {
        const res = await fetch("/api/stats", { headers: { authorization: `Bearer ${existing}` }, cache: "no-store" });
        if (res.ok) return location.replace("/manage");
      } catch {
        /* stay here */
      }
      clearSession();
    }
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      err.hidden = true;
      btn.disabled = true;
      btn.textContent = "Signing in…";
      try {
        const json = await api("POST", "/api/login", { username: $("username").value.trim(), password: $("password").value }, { auth: false });
        if (!json.success || !json.token) throw new ApiError(401, json.message || "Login failed");
        setSession(json.token);
        location.replace("/manage");
      } catch (ex) {
        err.textContent = ex.status === 429 ? `${ex.message}` : ex.message || "Login failed";
        err.hidden = false;
        $("password").select();
        btn.disabled = false;
        btn.textContent = "Sign in";
      }
    });
  }

  // ------------------------------------------------------------------ /manage

  const state = {
    accounts: [],
    selected: new Set(),
    tests: new Map(), // token → { ok, text, testing }
    lastSignature: "",
    fields: null,
    settings: null,
  };

  function showGlobalError(message) {
    const g = $("global-error");
    g.textContent = message || "";
    g.hidden = !message;
  }

  async function refreshStats() {
    const { data } = await api("GET", "/api/stats");
    $("stat-total").textContent = data.total;
    $("stat-usable").textContent = data.usable;
    $("stat-cooling").textContent = data.cooling;
    $("stat-dead").textContent = data.dead;
    $("stat-disabled").textContent = data.disabled;
    $("stat-disabled-wrap").hidden = !data.disabled;
    $("stat-inflight").textContent = data.in_flight;
    const next = $("stat-next");
    if (data.next_reset_at) {
      next.textContent = `Next account frees up at ${fmtClock(data.next_reset_at)}`;
      next.title = fmtFull(data.next_reset_at);
      next.hidden = false;
    } else next.hidden = true;
  }

  async function refreshAccounts() {
    const json = await api("GET", "/api/tokens");
    state.accounts = Array.isArray(json.data) ? json.data : [];
    const present = new Set(state.accounts.map((a) => a.token));
    for (const t of [...state.selected]) if (!present.has(t)) state.selected.delete(t);
    for (const t of [...state.tests.keys()]) if (!present.has(t)) state.tests.delete(t);
    renderAccounts();
  }

  async function refreshAll() {
    try {
      await Promise.all([refreshStats(), refreshAccounts()]);
      showGlobalError("");
    } catch (err) {
      if (err.status !== 401) showGlobalError(`Refresh failed: ${err.message}`);
    }
  }

  function stateBadgeClass(s) {
    return s === "active" ? "badge badge-ok" : s === "cooling" ? "badge badge-warn" : s === "dead" ? "badge badge-bad" : "badge";
  }

  /** Terms separated by spaces must all match; `tag:x` matches a tag exactly, anything else is a substring of tags, state, status, note, type or token. */
  function matches(a, query, stateFilter) {
    if (stateFilter && a.state !== stateFilter) return false;
    const terms = query.toLowerCase().split(/\s+/).filter(Boolean);
    if (!terms.length) return true;
    const tags = (a.tags || []).map((t) => t.toLowerCase());
    const hay = [...tags, a.state, a.status, a.status_reason, a.note, a.token_type, a.tier, a.token].filter(Boolean).join("\n").toLowerCase();
    return terms.every((t) => (t.startsWith("tag:") ? tags.includes(t.slice(4)) : hay.includes(t)));
  }

  function visibleAccounts() {
    const q = $("filter").value;
    const s = $("filter-state").value;
    return state.accounts.filter((a) => matches(a, q, s));
  }

  function quotaCell(a) {
    const fast = a.quota && a.quota.fast;
    const td = el("td", { className: "quota" });
    const all = Object.entries(a.quota || {})
      .map(([k, b]) => `${k}: ${b.remaining ?? "?"}/${b.total ?? "?"} (${b.confidence})${b.resetAt ? `, resets ${fmtClock(b.resetAt)}` : ""}`)
      .join("\n");
    if (all) td.title = all;
    if (!fast || (fast.remaining === null && fast.total === null)) {
      td.append(el("span", { className: "muted", text: "—" }), el("span", { className: "sub", text: "not synced yet" }));
      return td;
    }
    const approx = fast.confidence === "estimated" ? "~" : "";
    td.append(el("span", { text: `${approx}${fast.remaining ?? "?"} / ${fast.total ?? "?"}` }), el("span", { className: "sub", text: fast.confidence }));
    return td;
  }

  function accountRow(a) {
    const masked = maskToken(a.token);
    const check = el("input", {
      attrs: { type: "checkbox", "aria-label": `Select ${masked}` },
      on: {
        change: (e) => {
          if (e.target.checked) state.selected.add(a.token);
          else state.selected.delete(a.token);
          updateBulkButtons();
        },
      },
    });
    check.checked = state.selected.has(a.token);

    const stateTd = el("td", { className: "state" }, el("span", { className: stateBadgeClass(a.state), text: a.state }), " ", el("span", { text: a.status }));
    if (a.status_reason) stateTd.append(el("span", { className: "sub", text: a.status_reason }));
    if (a.state === "cooling" && a.cooldown_until) stateTd.append(el("span", { className: "sub", text: `until ${fmtClock(a.cooldown_until)}`, title: fmtFull(a.cooldown_until) }));

    const tagsTd = el("td", { className: "tags" });
    for (const t of a.tags || [])
      tagsTd.append(
        el("button", {
          className: "tag",
          text: t,
          title: `Show accounts tagged “${t}”`,
          attrs: { type: "button" },
          on: { click: () => setFilter(`tag:${t}`) },
        }),
      );

    const test = state.tests.get(a.token);
    const testBtn = el("button", { className: "btn btn-sm", text: test && test.testing ? "Testing…" : "Test", attrs: { type: "button", disabled: !!(test && test.testing) }, on: { click: () => testAccounts([a.token]) } });
    const actions = el(
      "td",
      { className: "actions" },
      testBtn,
      el("button", { className: "btn btn-sm", text: "Edit", title: "Edit tags and note", attrs: { type: "button" }, on: { click: () => openEdit(a) } }),
      el("button", { className: "btn btn-sm btn-danger", text: "Delete", attrs: { type: "button" }, on: { click: () => deleteAccounts([a]) } }),
    );
    if (test && !test.testing) actions.append(el("span", { className: `test-result ${test.ok ? "msg-ok" : "msg-error"}`, text: test.text }));

    return el(
      "tr",
      {},
      el("td", { className: "col-check" }, check),
      el("td", { className: "token mono", title: a.created_time ? `added ${fmtFull(a.created_time)}` : "" }, masked),
      el("td", { className: "type" }, el("span", { text: a.token_type }), el("span", { className: "sub", text: `${a.tier}${a.tier_source ? ` · ${a.tier_source}` : ""}` })),
      stateTd,
      quotaCell(a),
      el("td", { className: "num", text: a.in_flight }),
      a.last_used ? el("td", { text: fmtAgo(a.last_used), title: fmtFull(a.last_used) }) : el("td", { className: "muted", text: "never" }),
      tagsTd,
      el("td", { className: "note", text: a.note || "" }),
      actions,
    );
  }

  function renderAccounts(force = false) {
    const shown = visibleAccounts();
    const signature = JSON.stringify([shown, [...state.selected], [...state.tests], Math.floor(Date.now() / 60_000)]);
    if (!force && signature === state.lastSignature) return;
    state.lastSignature = signature;
    $("accounts-body").replaceChildren(...shown.map(accountRow));
    const total = state.accounts.length;
    $("accounts-empty").hidden = total > 0;
    $("shown-count").textContent = total === 0 ? "" : shown.length === total ? `${total} account${total === 1 ? "" : "s"}` : `${shown.length} of ${total} shown`;
    const all = $("select-all");
    all.checked = shown.length > 0 && shown.every((a) => state.selected.has(a.token));
    all.indeterminate = !all.checked && shown.some((a) => state.selected.has(a.token));
    updateBulkButtons();
  }

  function updateBulkButtons() {
    const n = state.selected.size;
    $("test-selected").disabled = n === 0;
    $("delete-selected").disabled = n === 0;
    $("test-selected").textContent = n ? `Test selected (${n})` : "Test selected";
    $("delete-selected").textContent = n ? `Delete selected (${n})` : "Delete selected";
  }

  function setFilter(q) {
    $("filter").value = q;
    renderAccounts(true);
  }

  async function testAccounts(tokens) {
    const byToken = new Map(state.accounts.map((a) => [a.token, a]));
    const queue = tokens.filter((t) => byToken.has(t));
    for (const t of queue) state.tests.set(t, { testing: true });
    renderAccounts(true);
    let ok = 0;
    let failed = 0;
    const worker = async () => {
      for (let t = queue.shift(); t !== undefined; t = queue.shift()) {
        const a = byToken.get(t);
        try {
          const json = await api("POST", "/api/tokens/test", { token: t, token_type: a.token_type });
          if (json.success) {
            const d = json.data || {};
            const quota = d.remaining_queries >= 0 ? ` · ${d.remaining_queries}/${d.limit >= 0 ? d.limit : "?"} fast left` : "";
            state.tests.set(t, { ok: true, text: `✓ ${json.message || "Token is valid"}${quota}` });
            ok++;
          } else {
            state.tests.set(t, { ok: false, text: `✗ ${json.message || "Test failed"}` });
            failed++;
          }
        } catch (err) {
          if (err.status === 401) return;
          state.tests.set(t, { ok: false, text: `✗ ${err.message}` });
          failed++;
        }
        renderAccounts(true);
      }
    };
    await Promise.all([worker(), worker(), worker()]);
    if (tokens.length === 1) {
      const r = state.tests.get(tokens[0]);
      if (r && !r.testing) toast(`${maskToken(tokens[0])}: ${r.text}`, r.ok ? "ok" : "error");
    } else toast(`Tested ${ok + failed} account(s): ${ok} valid, ${failed} failed`, failed ? "error" : "ok");
    await refreshAll();
  }

  /** Resolves true when the user confirms in the modal dialog. */
  function confirmDialog(title, text, okLabel = "Delete") {
    const d = $("confirm-dialog");
    $("confirm-title").textContent = title;
    $("confirm-text").textContent = text;
    $("confirm-ok").textContent = okLabel;
    d.returnValue = "";
    return new Promise((resolve) => {
      d.addEventListener("close", () => resolve(d.returnValue === "ok"), { once: true });
      d.showModal();
      $("confirm-cancel").focus();
    });
  }

  async function deleteAccounts(list) {
    if (!list.length) return;
    const text =
      list.length === 1
        ? `Delete account ${maskToken(list[0].token)}${list[0].note ? ` (${list[0].note})` : ""}? It is removed from the pool; you would need its SSO cookie to add it again.`
        : `Delete ${list.length} accounts? They are removed from the pool; you would need their SSO cookies to add them again.`;
    if (!(await confirmDialog(list.length === 1 ? "Delete account" : "Delete accounts", text))) return;
    try {
      // token_type is per account in the original API; send one request per type.
      let count = 0;
      for (const type of ["sso", "ssoSuper"]) {
        const tokens = list.filter((a) => a.token_type === type).map((a) => a.token);
        if (tokens.length) count += (await api("POST", "/api/tokens/delete", { tokens, token_type: type })).count || 0;
      }
      for (const a of list) state.selected.delete(a.token);
      toast(`Deleted ${count} account(s)`);
    } catch (err) {
      toast(`Delete failed: ${err.message}`, "error");
    }
    await refreshAll();
  }

  let editing = null;
  function openEdit(a) {
    editing = a;
    $("edit-token").textContent = `${maskToken(a.token)} · ${a.token_type}`;
    $("edit-tags").value = (a.tags || []).join(", ");
    $("edit-note").value = a.note || "";
    $("edit-error").hidden = true;
    const known = new Set();
    for (const x of state.accounts) for (const t of x.tags || []) known.add(t);
    $("known-tags").replaceChildren(...[...known].sort().map((t) => el("option", { attrs: { value: t } })));
    const d = $("edit-dialog");
    d.returnValue = "";
    d.showModal();
    $("edit-tags").focus();
  }

  async function saveEdit(e) {
    if (e.submitter && e.submitter.value === "cancel") return; // let the dialog close
    e.preventDefault();
    const a = editing;
    if (!a) return;
    const tags = [...new Set($("edit-tags").value.split(/[,\n]/).map((t) => t.trim()).filter(Boolean))];
    const note = $("edit-note").value;
    const btn = $("edit-save");
    btn.disabled = true;
    try {
      if (JSON.stringify(tags) !== JSON.stringify(a.tags || [])) await api("POST", "/api/tokens/tags", { token: a.token, token_type: a.token_type, tags });
      if (note !== (a.note || "")) await api("POST", "/api/tokens/note", { token: a.token, token_type: a.token_type, note });
      $("edit-dialog").close("save");
      toast(`Saved ${maskToken(a.token)}`);
      await refreshAll();
    } catch (err) {
      $("edit-error").textContent = err.message;
      $("edit-error").hidden = false;
    } finally {
      btn.disabled = false;
    }
  }

  async function addAccounts(e) {
    e.preventDefault();
    const msg = $("add-msg");
    const tokens = $("add-tokens")
      .value.split(/\r?\n/)
      .map((l) => l.trim())
      .filter(Boolean);
    if (!tokens.length) return setMsg(msg, "Paste at least one SSO cookie.", "error");
    const btn = $("add-submit");
    btn.disabled = true;
    setMsg(msg, "Adding…");
    try {
      const json = await api("POST", "/api/tokens/add", { tokens, token_type: $("add-type").value });
      setMsg(msg, json.message || "Added", "ok");
      $("add-tokens").value = "";
      await refreshAll();
    } catch (err) {
      setMsg(msg, err.message, "error");
    } finally {
      btn.disabled = false;
    }
  }

  // ---------------------------------------------------------------- settings

  const SECTIONS = [
    { key: "grok", body: "grok_config", title: "Grok" },
    { key: "global", body: "global_config", title: "Global" },
  ];

  /** The value a control holds, in the type the server stores. */
  function controlValue(input) {
    const kind = input.dataset.kind;
    if (kind === "boolean") return input.checked;
    if (kind === "number") return input.value.trim() === "" ? "" : Number.isFinite(Number(input.value)) ? Number(input.value) : input.value;
    if (kind === "number[]")
      return input.value
        .split(/[,\s]+/)
        .filter(Boolean)
        .map((x) => (Number.isFinite(Number(x)) ? Number(x) : x));
    if (kind === "json") {
      try {
        return JSON.parse(input.value);
      } catch {
        return input.value; // the server answers with the field's validation error
      }
    }
    return input.value;
  }

  function originalValue(input) {
    const { section, name } = input.dataset;
    if (name === "admin_password") return "";
    return state.settings[section][name];
  }

  const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

  function settingsControls() {
    return [...document.querySelectorAll("#settings-sections [data-name]")];
  }

  function changedSettings() {
    return settingsControls().filter((i) => !i.readOnly && !same(controlValue(i), originalValue(i)));
  }

  function updateSettingsDirty() {
    const changed = new Set(changedSettings());
    for (const i of settingsControls()) i.closest(".field").classList.toggle("changed", changed.has(i));
    $("settings-save").disabled = changed.size === 0;
    $("settings-reset").disabled = changed.size === 0;
    $("settings-save").textContent = changed.size ? `Save ${changed.size} change${changed.size === 1 ? "" : "s"}` : "Save";
  }

  function settingControl(sectionKey, f, value, data) {
    const id = `set-${sectionKey}-${f.name}`;
    const common = { id, "data-section": sectionKey, "data-name": f.name, "data-kind": f.kind };
    let input;
    if (f.kind === "boolean") {
      input = el("input", { attrs: { ...common, type: "checkbox" } });
      input.checked = !!value;
    } else if (f.kind === "enum") {
      input = el("select", { attrs: common }, ...f.options.map((o) => el("option", { text: o, attrs: { value: o } })));
      if (value !== undefined && !f.options.includes(value)) input.append(el("option", { text: String(value), attrs: { value: String(value) } }));
      input.value = value ?? f.options[0];
    } else if (f.kind === "number") {
      input = el("input", { attrs: { ...common, type: "number", min: f.min, max: f.max, step: f.int ? 1 : "any" } });
      input.value = value ?? "";
    } else if (f.kind === "number[]") {
      input = el("input", { attrs: { ...common, type: "text", spellcheck: "false" } });
      input.value = Array.isArray(value) ? value.join(", ") : (value ?? "");
    } else if (f.kind === "json") {
      input = el("textarea", { attrs: { ...common, rows: 5, spellcheck: "false" } });
      input.value = JSON.stringify(value ?? {}, null, 2);
    } else {
      const secret = f.name === "admin_password";
      input = el("input", { attrs: { ...common, type: secret ? "password" : "text", spellcheck: "false", autocomplete: secret ? "new-password" : "off" } });
      input.value = value ?? "";
    }
    let hint = null;
    if (f.kind === "number" && (f.min !== undefined || f.max !== undefined)) hint = `${f.int ? "whole number " : ""}${f.min ?? ""}–${f.max ?? ""}`;
    if (f.kind === "number[]") hint = "comma-separated numbers";
    if (f.kind === "json") hint = f.name === "model_map" ? 'JSON: client model pattern (* = anything) → model id or @strongest / @default / @fast, first match wins' : "JSON";
    if (f.name === "admin_password") hint = "leave empty to keep the current password (at least 8 characters)";
    if (f.name === "api_key" && data.api_key_from_env) {
      input.readOnly = true;
      hint = "set by GROK2API_API_KEY; change it there";
    }
    input.addEventListener("input", updateSettingsDirty);
    input.addEventListener("change", updateSettingsDirty);
    return el("div", { className: "field" }, el("label", { text: f.name, attrs: { for: id } }), input, hint ? el("span", { className: "sub", text: hint }) : null);
  }

  function renderSettings() {
    const parts = [];
    for (const s of SECTIONS) {
      const data = state.settings[s.key] || {};
      const fields = [...(state.fields[s.key] || [])];
      if (s.key === "global") fields.push({ name: "admin_password", kind: "string" });
      parts.push(el("fieldset", {}, el("legend", { text: `${s.title} (${s.body})` }), ...fields.map((f) => settingControl(s.key, f, data[f.name], data))));
    }
    $("settings-sections").replaceChildren(...parts);
    updateSettingsDirty();
    updateClientSetup();
  }

  async function loadSettings() {
    if (!state.fields) {
      const res = await fetch("/static/admin/settings-fields.json", { cache: "no-store" });
      state.fields = await res.json();
    }
    state.settings = (await api("GET", "/api/settings")).data;
    renderSettings();
  }

  async function saveSettings(e) {
    e.preventDefault();
    const msg = $("settings-msg");
    for (const i of settingsControls()) i.removeAttribute("aria-invalid");
    const changed = changedSettings();
    if (!changed.length) return;
    const body = {};
    for (const i of changed) {
      const sec = SECTIONS.find((s) => s.key === i.dataset.section);
      (body[sec.body] ??= {})[i.dataset.name] = controlValue(i);
    }
    $("settings-save").disabled = true;
    setMsg(msg, "Saving…");
    try {
      await api("POST", "/api/settings", body);
      state.settings = (await api("GET", "/api/settings")).data;
      renderSettings();
      setMsg(msg, `Saved ${changed.length} setting${changed.length === 1 ? "" : "s"}.`, "ok");
    } catch (err) {
      setMsg(msg, err.message, "error");
      const m = /\b(grok|global)(?:_config)?\.([A-Za-z0-9_]+)/.exec(err.message);
      const bad = m && $(`set-${m[1]}-${m[2]}`);
      if (bad) {
        bad.setAttribute("aria-invalid", "true");
        bad.focus();
      }
      updateSettingsDirty();
    }
  }

  // ------------------------------------------------------------------ client setup

  function updateClientSetup() {
    $("base-url").value = `${location.origin}/v1`;
    $("origin-url").textContent = location.origin;
    const grok = state.settings && state.settings.grok;
    const hint = $("api-key-hint");
    if (!grok) hint.textContent = "";
    else if (grok.api_key) hint.textContent = `API key: clients must send one of the keys in ${grok.api_key_from_env ? "GROK2API_API_KEY" : "Settings → grok → api_key"}.`;
    else hint.textContent = "API key: none configured, so any key is accepted. Set grok → api_key below to require one.";
  }

  async function copyBaseUrl() {
    const input = $("base-url");
    let ok = false;
    try {
      await navigator.clipboard.writeText(input.value);
      ok = true;
    } catch {
      input.select();
      try {
        ok = document.execCommand("copy");
      } catch {
        ok = false;
      }
    }
    setMsg($("copy-msg"), ok ? "Copied" : "Select and copy it by hand", ok ? "ok" : "error");
    setTimeout(() => setMsg($("copy-msg"), ""), 2500);
  }

  // ------------------------------------------------------------------ wiring

  async function initManage() {
    if (!session()) return location.replace("/login");
    updateClientSetup();
    $("logout").addEventListener("click", async () => {
      try {
        await api("POST", "/api/logout", {});
      } catch {
        /* the session is gone either way */
      }
      clearSession();
      location.replace("/login");
    });
    $("add-form").addEventListener("submit", addAccounts);
    $("filter").addEventListener("input", () => renderAccounts(true));
    $("filter-state").addEventListener("change", () => renderAccounts(true));
    $("refresh").addEventListener("click", refreshAll);
    $("select-all").addEventListener("change", (e) => {
      for (const a of visibleAccounts()) e.target.checked ? state.selected.add(a.token) : state.selected.delete(a.token);
      renderAccounts(true);
    });
    $("test-selected").addEventListener("click", () => testAccounts([...state.selected]));
    $("delete-selected").addEventListener("click", () => deleteAccounts(state.accounts.filter((a) => state.selected.has(a.token))));
    $("edit-form").addEventListener("submit", saveEdit);
    $("settings-form").addEventListener("submit", saveSettings);
    $("settings-reset").addEventListener("click", () => {
      renderSettings();
      setMsg($("settings-msg"), "");
    });
    $("copy-base-url").addEventListener("click", copyBaseUrl);

    api("GET", "/api/storage/mode")
      .then((j) => ($("storage-mode").textContent = `storage ${j.data && j.data.mode ? j.data.mode : "?"}`))
      .catch(() => ($("storage-mode").textContent = "storage ?"));
    loadSettings().catch((err) => {
      if (err.status !== 401) $("settings-sections").replaceChildren(el("p", { className: "msg msg-error", text: `Could not load settings: ${err.message}` }));
    });
    await refreshAll();
    setInterval(() => {
      if (!document.hidden) refreshAll();
    }, REFRESH_MS);
  }

  const page = document.body.dataset.page;
  if (page === "login") initLogin();
  else if (page === "manage") initManage();
})();
