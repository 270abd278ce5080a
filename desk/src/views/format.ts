// How a value is shown in a list cell, per field type (plain text; the list view adds links).
import type { FieldMeta } from "../providers";
import { parseDate, parseTime, parseUtcDatetime } from "./wire";

// en-US numbers with min..max fraction digits, as Intl.NumberFormat("en-US") writes them, but
// without Intl for ordinary finite values: the first Intl.NumberFormat of a page costs ~75 ms
// (locale data), on the list view's first render.
const numberFormats = new Map<string, Intl.NumberFormat>();
function intlFormat(n: number, min: number, max: number): string {
  const key = `${min}/${max}`;
  let f = numberFormats.get(key);
  if (!f) {
    f = new Intl.NumberFormat("en-US", { minimumFractionDigits: min, maximumFractionDigits: max });
    numberFormats.set(key, f);
  }
  return f.format(n);
}

export function formatNumber(n: number, min: number, max: number): string {
  // Intl rounds the shortest decimal form of the double (String(n)) half away from zero.
  const text = String(Math.abs(n));
  if (!Number.isFinite(n) || Object.is(n, -0) || text.includes("e") || max > 100 || min > max) {
    return intlFormat(n, min, max);
  }
  const dot = text.indexOf(".");
  let digits = (dot < 0 ? text : text.slice(0, dot)) + (dot < 0 ? "" : text.slice(dot + 1));
  let intLen = dot < 0 ? text.length : dot;
  const keep = intLen + max;
  if (digits.length > keep) {
    const up = digits.charCodeAt(keep) >= 53; // "5"
    digits = digits.slice(0, keep);
    if (up) {
      let i = digits.length - 1;
      while (i >= 0 && digits[i] === "9") i--;
      digits = (i < 0 ? "1" : digits.slice(0, i) + String.fromCharCode(digits.charCodeAt(i) + 1)) + "0".repeat(digits.length - 1 - i);
      if (i < 0) intLen++;
    }
  }
  let int = digits.slice(0, intLen).replace(/^0+(?=\d)/, "") || "0";
  let frac = digits.slice(intLen);
  let end = frac.length;
  while (end > min && frac[end - 1] === "0") end--;
  frac = frac.slice(0, end).padEnd(min, "0");
  int = int.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return (n < 0 ? "-" : "") + int + (frac ? "." + frac : "");
}

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
      return typeof v === "number" ? formatNumber(v, 0, 0) : String(v);
    case "float":
    case "decimal": {
      const n = typeof v === "number" ? v : Number(v);
      if (!Number.isFinite(n)) return String(v);
      const p = field.precision ?? (field.type === "decimal" ? 2 : undefined);
      return p === undefined ? formatNumber(n, 0, 6) : formatNumber(n, p, p);
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
