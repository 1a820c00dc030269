import type { z } from "zod";
import type { SettingsField } from "../../shared/admin-api.js";

type AnySchema = z.ZodType & { def: { type: string; innerType?: AnySchema; out?: AnySchema; element?: AnySchema }; options?: string[]; minValue?: number | null; maxValue?: number | null; isInt?: boolean };

/**
 * The form description of one settings section, read off its zod schema (so selects, limits and
 * defaults never drift from validation). The manager builds its settings form from it; labels,
 * explanations and groups come from src/shared/settings-meta.ts.
 */
export function describeSection(schema: z.ZodType & { shape: Record<string, unknown> }): SettingsField[] {
  const defaults = (schema.safeParse({}).data ?? {}) as Record<string, unknown>;
  return Object.entries(schema.shape).map(([name, raw]): SettingsField => {
    let s = raw as AnySchema;
    for (;;) {
      if (s.def.type === "default" && s.def.innerType) s = s.def.innerType;
      else if (s.def.type === "pipe" && s.def.out) s = s.def.out;
      else break;
    }
    const d = name in defaults ? { default: defaults[name] } : {};
    switch (s.def.type) {
      case "boolean":
        return { name, kind: "boolean", ...d };
      case "enum":
        return { name, kind: "enum", options: [...(s.options ?? [])], ...d };
      case "number":
        return { name, kind: "number", ...(Number.isFinite(s.minValue) ? { min: s.minValue as number } : {}), ...(Number.isFinite(s.maxValue) ? { max: s.maxValue as number } : {}), int: !!s.isInt, ...d };
      case "array":
        return { name, kind: "number[]", ...d };
      case "record":
      case "object":
        return { name, kind: "json", ...d };
      default:
        return { name, kind: "string", ...d };
    }
  });
}
