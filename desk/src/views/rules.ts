// Client-side validation rules from a field's metadata (the server checks the same again).
import type { Rule } from "antd/es/form";
import type { FieldMeta } from "../providers";

const NUMERIC = new Set(["int", "float", "decimal"]);
const TEXTUAL = new Set(["data", "text", "password", "link", "uuid"]);

export function fieldRules(f: FieldMeta): Rule[] {
  const label = f.label || f.name;
  const rules: Rule[] = [];
  if (f.required && f.type !== "check" && f.type !== "table") {
    rules.push({ required: true, message: `${label} is required` });
  }
  if (NUMERIC.has(f.type)) {
    if (f.min !== undefined && f.min !== null)
      rules.push({
        validator: async (_, v) => {
          if (typeof v === "number" && v < f.min!) throw new Error(`${label} must be at least ${f.min}`);
        },
      });
    if (f.max !== undefined && f.max !== null)
      rules.push({
        validator: async (_, v) => {
          if (typeof v === "number" && v > f.max!) throw new Error(`${label} must be at most ${f.max}`);
        },
      });
  }
  if (TEXTUAL.has(f.type) || f.type === "select") {
    if (f.min_length)
      rules.push({
        validator: async (_, v) => {
          if (typeof v === "string" && v.length > 0 && [...v].length < f.min_length!)
            throw new Error(`${label} must be at least ${f.min_length} characters`);
        },
      });
    if (f.max_length)
      rules.push({
        validator: async (_, v) => {
          if (typeof v === "string" && [...v].length > f.max_length!)
            throw new Error(`${label} must be at most ${f.max_length} characters`);
        },
      });
    if (f.pattern) {
      let re: RegExp | null = null;
      try {
        re = new RegExp(f.pattern); // the server uses std::regex_search, ECMAScript flavour
      } catch {
        re = null; // a server-side (ECMAScript-incompatible) pattern: leave it to the server
      }
      if (re) {
        const r = re;
        rules.push({
          validator: async (_, v) => {
            if (typeof v === "string" && v !== "" && !r.test(v))
              throw new Error(`${label} does not match the pattern ${f.pattern}`);
          },
        });
      }
    }
  }
  if (f.type === "json") {
    rules.push({
      validator: async (_, v) => {
        if (typeof v === "string" && v.trim() !== "") {
          try {
            JSON.parse(v);
          } catch (e) {
            throw new Error(`${label} is not valid JSON: ${(e as Error).message}`);
          }
        }
      },
    });
  }
  return rules;
}
