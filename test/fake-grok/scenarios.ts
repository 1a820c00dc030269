import type { Scenario, ScenarioName } from "./types.js";

export const SCENARIO_NAMES: readonly ScenarioName[] = [
  "text", "thinking", "search", "search-tags", "search-no-tool-call-id", "image-gen", "image-gen-2025", "imagine",
  "image-edit", "video", "moderated", "in-stream-rate-limit", "usage-limit", "http-429", "http-401",
  "403-html", "403-empty", "403-json-code7", "403-json-code7-in-stream", "403-blocked", "http-500", "empty-success", "stalled",
  "stalled-after-first", "dropped", "session-ended", "split-utf8", "slow", "status-not-completed",
  "conversation-not-found", "stream-errors", "markup",
];

/** Scenarios answered before any stream exists: REST status code, gateway/Imagine handshake status. */
export const HTTP_FAILURE_SCENARIOS: ReadonlySet<ScenarioName> = new Set<ScenarioName>([
  "http-429", "http-401", "403-html", "403-empty", "403-blocked", "http-500",
]);

/** Scenarios whose turn is a success and therefore costs quota. */
export const SUCCESS_SCENARIOS: ReadonlySet<ScenarioName> = new Set<ScenarioName>([
  "text", "thinking", "search", "search-tags", "search-no-tool-call-id", "image-gen", "image-gen-2025", "imagine",
  "image-edit", "video", "moderated", "empty-success", "split-utf8", "slow", "markup",
]);

export function isScenarioName(v: unknown): v is ScenarioName {
  return typeof v === "string" && (SCENARIO_NAMES as readonly string[]).includes(v);
}

export function normalizeScenario(s: Scenario | ScenarioName): Scenario {
  const sc = typeof s === "string" ? { name: s } : { ...s };
  if (!isScenarioName(sc.name)) throw new Error(`unknown fake-grok scenario: ${String(sc.name)}`);
  return sc;
}

/** `#scenario:<name>` anywhere in the prompt selects that scenario for the turn. */
export function magicScenario(text: string | undefined): Scenario | undefined {
  if (!text) return undefined;
  const m = /#scenario:([a-z0-9-]+)/i.exec(text);
  if (!m) return undefined;
  const name = m[1]!.toLowerCase();
  return isScenarioName(name) ? { name } : undefined;
}

/**
 * Without an explicit scenario, a Lite image prompt ("Drawing: …", §3.6) is answered with the
 * image-generation script, like grok's image tool would.
 */
export function implicitScenario(sc: Scenario, explicit: boolean, prompt: string): Scenario {
  if (explicit || sc.name !== "text" || sc.text !== undefined) return sc;
  return /^(?:\[user\]\n)?Drawing:/.test(prompt.trim()) ? { ...sc, name: "image-gen" } : sc;
}

/**
 * A test's stand-in for the model: sees the whole prompt of a turn and may answer it (a text, or
 * a scenario); undefined leaves the turn to the queues and the default. Used to answer tool
 * calls in the envelope the prompt asked for, and to answer after the tool result came back.
 */
export type Responder = (prompt: string) => Scenario | string | undefined;

/** FIFO queues per account ("*" = any account) plus a default, and an optional responder. */
export class ScenarioQueue {
  private readonly queues = new Map<string, Scenario[]>();
  private fallback: Scenario = { name: "text" };
  private responder: Responder | null = null;

  setResponder(fn: Responder | null): void {
    this.responder = fn;
  }

  /** The responder's answer for this prompt, as a scenario. */
  respond(prompt: string): Scenario | undefined {
    const r = this.responder?.(prompt);
    if (r === undefined) return undefined;
    return typeof r === "string" ? { name: "text", text: r } : normalizeScenario(r);
  }

  push(key: string, scenarios: Array<Scenario | ScenarioName>): void {
    const q = this.queues.get(key) ?? [];
    q.push(...scenarios.map(normalizeScenario));
    this.queues.set(key, q);
  }

  setDefault(s: Scenario | ScenarioName): void {
    this.fallback = normalizeScenario(s);
  }

  peek(sso: string | undefined): Scenario | undefined {
    const own = sso ? this.queues.get(sso) : undefined;
    if (own && own.length) return own[0];
    const any = this.queues.get("*");
    return any && any.length ? any[0] : undefined;
  }

  /** Takes the next queued entry (account first, then "*"), or undefined. */
  take(sso: string | undefined): Scenario | undefined {
    const own = sso ? this.queues.get(sso) : undefined;
    if (own && own.length) return own.shift();
    const any = this.queues.get("*");
    return any && any.length ? any.shift() : undefined;
  }

  get default(): Scenario {
    return { ...this.fallback };
  }

  pending(): Record<string, ScenarioName[]> {
    const out: Record<string, ScenarioName[]> = {};
    for (const [k, q] of this.queues) if (q.length) out[k] = q.map((s) => s.name);
    return out;
  }

  clear(): void {
    this.queues.clear();
    this.fallback = { name: "text" };
    this.responder = null;
  }
}
