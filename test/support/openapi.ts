import { readFileSync } from "node:fs";
import path from "node:path";
import Ajv2020 from "ajv/dist/2020.js";
import type { ValidateFunction } from "ajv";

/**
 * Validators for OpenAI components (api-conformance.md §6.2): the 2020-12 ajv class with the
 * `nullable` (and discriminated-`oneOf`) rewrite, over test/vendor/openai-openapi.subset.json,
 * the vendored subset of openai/openai-openapi's openapi.json (see test/vendor/README.md;
 * regenerate it with scripts/vendor-openai-spec.mjs). It holds the chat-completion response and
 * chunk, models, error and Responses API schemas with everything they reference.
 * OPENAI_SPEC=<path> uses another spec file instead (e.g. the full openapi.json).
 */
export const VENDORED_SPEC = path.resolve(import.meta.dirname, "..", "vendor", "openai-openapi.subset.json");

function specPath(): string {
  return process.env.OPENAI_SPEC || VENDORED_SPEC;
}

/**
 * The two rewrites the spec needs before ajv can use it:
 * - `nullable` (OpenAPI 3.0 style, still in the spec): see api-conformance.md §6.2;
 * - a `oneOf` with a `discriminator` becomes `anyOf`. OpenAPI picks the branch by the tag, JSON
 *   Schema demands that exactly one branch matches, and some unions are not exclusive: every
 *   Responses input message (`{type:"message", role, content}`) matches both `EasyInputMessage`
 *   and `Item` → `InputMessage` of `InputItem`, so a well-formed request would fail. For the
 *   other, properly tagged unions the change loses nothing.
 */
function rewriteForAjv(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rewriteForAjv);
  if (!node || typeof node !== "object") return node;
  const out: Record<string, any> = {};
  for (const [k, v] of Object.entries(node)) out[k] = rewriteForAjv(v);
  if (out.oneOf && out.discriminator && !out.anyOf) {
    out.anyOf = out.oneOf;
    delete out.oneOf;
  }
  if (!("nullable" in out)) return out;
  const nullable = out.nullable === true;
  delete out.nullable;
  if (!nullable) return out;
  if (out.type !== undefined) {
    out.type = [...new Set([...[out.type].flat(), "null"])];
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum.push(null);
  } else if (out.$ref) {
    const { $ref, ...rest } = out;
    return { ...rest, anyOf: [{ $ref }, { type: "null" }] };
  } else if (out.anyOf) out.anyOf.push({ type: "null" });
  else if (out.oneOf) out.oneOf.push({ type: "null" });
  return out;
}

let ajv: InstanceType<typeof Ajv2020.default> | null = null;
let schemas: Record<string, any> = {};
const cache = new Map<string, ValidateFunction>();

function load(): InstanceType<typeof Ajv2020.default> {
  if (!ajv) {
    const spec = JSON.parse(readFileSync(specPath(), "utf8"));
    const components = rewriteForAjv(spec.components) as { schemas: Record<string, any> };
    schemas = components.schemas;
    ajv = new Ajv2020.default({ strict: false, validateFormats: false, allErrors: true });
    ajv.addSchema({ $id: "oa", components });
  }
  return ajv;
}

/** A function that throws (with the first ajv errors) unless its argument matches the component. */
export function openapiValidator(component: string): (value: unknown) => void {
  const a = load();
  if (!schemas[component]) throw new Error(`${component} is not in ${specPath()} (add it to the roots of scripts/vendor-openai-spec.mjs)`);
  let v = cache.get(component);
  if (!v) {
    v = a.compile({ $ref: `oa#/components/schemas/${component}` });
    cache.set(component, v);
  }
  const validate = v;
  return (value: unknown) => {
    if (!validate(value)) throw new Error(`${component} schema violation: ${JSON.stringify(validate.errors?.slice(0, 5))}\nvalue: ${JSON.stringify(value).slice(0, 500)}`);
  };
}

// ---- Responses API -----------------------------------------------------------------------------

let eventComponents: Map<string, string> | null = null;

/**
 * Event `type` → the component of its variant in `ResponseStreamEvent` (an anyOf of 58 event
 * schemas, each with a one-value `type` enum), e.g. "response.output_text.delta" →
 * "ResponseTextDeltaEvent".
 */
export function responsesEventComponents(): ReadonlyMap<string, string> {
  if (eventComponents) return eventComponents;
  load();
  const m = new Map<string, string>();
  for (const variant of schemas.ResponseStreamEvent?.anyOf ?? []) {
    const name = String(variant.$ref ?? "").split("/").pop()!;
    const t = schemas[name]?.properties?.type;
    for (const value of t?.enum ?? (t?.const !== undefined ? [t.const] : [])) m.set(value, name);
  }
  if (m.size === 0) throw new Error(`ResponseStreamEvent has no variants in ${specPath()}`);
  eventComponents = m;
  return m;
}

/**
 * Checks one parsed Responses SSE event (`data:` payload) against the variant of
 * `ResponseStreamEvent` its `type` names, so errors name that variant's missing or wrong fields
 * instead of 58 anyOf branches. An unknown `type` is a violation.
 */
export function validateResponsesEvent(ev: unknown): void {
  const type = ev && typeof ev === "object" ? (ev as { type?: unknown }).type : undefined;
  const component = typeof type === "string" ? responsesEventComponents().get(type) : undefined;
  if (!component) throw new Error(`ResponseStreamEvent schema violation: unknown event type ${JSON.stringify(type)}\nvalue: ${JSON.stringify(ev)?.slice(0, 500)}`);
  openapiValidator(component)(ev);
}

/** Checks a Responses API response object (non-stream body, or `response` of created/completed events). */
export function validateResponse(obj: unknown): void {
  openapiValidator("Response")(obj);
}

/** Checks a `POST /v1/responses` request body (for the tests' own fixtures). */
export function validateCreateResponse(body: unknown): void {
  openapiValidator("CreateResponse")(body);
}
