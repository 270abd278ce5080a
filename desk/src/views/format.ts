// How a value is shown in a list cell, per field type (plain text; the list view adds links).
import type { FieldMeta } from "../providers";
import { parseDate, parseTime, parseUtcDatetime } from "./wire";

export function formatValue(field: Pick<FieldMeta, "type" | "precision">, v: unknown): string {
  if (v === null || v === undefined || v === "") return "";
  switch (field.type) {
    case "check":
      return v === true || v === 1 || v === "1" ? "✓" : "";
    case "date": {
      const d = typeof v === "string" ? parseDate(v) : null;
      return d ? d.format("YYYY-MM-DD") : String(v);
    }
    case "datetime": {
      const d = typeof v === "string" ? parseUtcDatetime(v) : null;
      return d ? d.format("YYYY-MM-DD HH:mm") : String(v);
    }
    case "time": {
      const d = typeof v === "string" ? parseTime(v) : null;
      return d ? d.format("HH:mm:ss") : String(v);
    }
    case "int":
      return typeof v === "number" ? v.toLocaleString("en-US", { maximumFractionDigits: 0 }) : String(v);
    case "float":
    case "decimal": {
      const n = typeof v === "number" ? v : Number(v);
      if (!Number.isFinite(n)) return String(v);
      const p = field.precision ?? (field.type === "decimal" ? 2 : undefined);
      return p === undefined
        ? n.toLocaleString("en-US", { maximumFractionDigits: 6 })
        : n.toLocaleString("en-US", { minimumFractionDigits: p, maximumFractionDigits: p });
    }
    case "json":
      return typeof v === "string" ? v : JSON.stringify(v);
    case "table":
      return Array.isArray(v) ? `${v.length} row${v.length === 1 ? "" : "s"}` : "";
    case "password":
      return "••••••";
    default:
      return String(v);
  }
}
