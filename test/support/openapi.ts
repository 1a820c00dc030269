import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import Ajv2020 from "ajv/dist/2020.js";
import type { ValidateFunction } from "ajv";

/**
 * Validators for OpenAI response components from ../shared/specs/openai-openapi.json
 * (api-conformance.md §6.2): the 2020-12 ajv class with the `nullable` rewrite.
 */
/** The spec lives in shared/ beside the repository (never copied in); OPENAI_SPEC overrides. */
function specPath(): string {
  if (process.env.OPENAI_SPEC) return process.env.OPENAI_SPEC;
  let dir = path.resolve(import.meta.dirname, "../..");
  for (let i = 0; i < 4; i++) {
    const candidate = path.join(dir, "..", "shared", "specs", "openai-openapi.json");
    if (existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error("openai-openapi.json not found: expected ../shared/specs/ beside the repository (or set OPENAI_SPEC)");
}

function fixNullable(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(fixNullable);
  if (!node || typeof node !== "object") return node;
  const out: Record<string, any> = {};
  for (const [k, v] of Object.entries(node)) out[k] = fixNullable(v);
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
const cache = new Map<string, ValidateFunction>();

export function openapiValidator(component: string): (value: unknown) => void {
  if (!ajv) {
    const spec = JSON.parse(readFileSync(specPath(), "utf8"));
    ajv = new Ajv2020.default({ strict: false, validateFormats: false, allErrors: true });
    ajv.addSchema({ $id: "oa", components: fixNullable(spec.components) });
  }
  let v = cache.get(component);
  if (!v) {
    v = ajv.compile({ $ref: `oa#/components/schemas/${component}` });
    cache.set(component, v);
  }
  const validate = v;
  return (value: unknown) => {
    if (!validate(value)) throw new Error(`${component} schema violation: ${JSON.stringify(validate.errors?.slice(0, 5))}\nvalue: ${JSON.stringify(value).slice(0, 500)}`);
  };
}
