// The list view's filters: which operators fit which field type, how a filter row is kept in the
// URL, and how it becomes a Refine CrudFilter (the data provider maps those to the API's operators:
// docs/reference/desk.md, "Filters").
import type { CrudFilter, CrudOperators, CrudSort } from "@refinedev/core";
import type { FieldType } from "../providers";
import type { ServerOperator } from "../providers/filters";

/**
 * Operators in the server's vocabulary (docs/reference/desk.md, "Filters") that the filter bar
 * offers (not_in is not).
 */
export type FilterOp = Exclude<ServerOperator, "not_in">;

export const OP_LABELS: Record<FilterOp, string> = {
  eq: "equals",
  ne: "not equals",
  lt: "<",
  lte: "≤",
  gt: ">",
  gte: "≥",
  between: "between",
  in: "in",
  like: "like",
  not_like: "not like",
  is_null: "is empty",
  is_not_null: "is set",
};

const TEXT: FilterOp[] = ["like", "not_like", "eq", "ne", "is_null", "is_not_null"];
const ORDERED: FilterOp[] = ["eq", "ne", "lt", "lte", "gt", "gte", "between"];

/** Operators offered for a field type; empty when the type cannot be filtered on. */
export function operatorsFor(type: FieldType): FilterOp[] {
  switch (type) {
    case "data":
    case "text":
      return TEXT;
    case "uuid":
      return ["eq", "ne", "is_null", "is_not_null"];
    case "int":
    case "float":
    case "decimal":
    case "date":
    case "datetime":
    case "time":
      return ORDERED;
    case "select":
      return ["eq", "ne", "in"];
    case "check":
      return ["eq"];
    case "link":
      return ["eq", "like"];
    default: // json, table, password
      return [];
  }
}

export function needsValue(op: FilterOp): boolean {
  return op !== "is_null" && op !== "is_not_null";
}

const TO_REFINE: Record<FilterOp, Exclude<CrudOperators, "or" | "and">> = {
  eq: "eq",
  ne: "ne",
  lt: "lt",
  lte: "lte",
  gt: "gt",
  gte: "gte",
  between: "between",
  in: "in",
  like: "contains",
  not_like: "ncontains",
  is_null: "null",
  is_not_null: "nnull",
};

/** One row of the filter bar, as kept in the URL. Values are JSON-able (dates as strings). */
export interface FilterRow {
  field: string;
  op: FilterOp;
  value?: unknown;
}

function complete(r: FilterRow): boolean {
  if (!r.field || !r.op) return false;
  if (!needsValue(r.op)) return true;
  const v = r.value;
  if (v === undefined || v === null || v === "") return false;
  if (r.op === "between") return Array.isArray(v) && v.length === 2 && v.every((x) => x !== null && x !== undefined && x !== "");
  if (r.op === "in") return Array.isArray(v) && v.length > 0;
  return true;
}

/** Filter rows → Refine filters, dropping rows that are not filled in. */
export function toCrudFilters(rows: FilterRow[]): CrudFilter[] {
  return rows.filter(complete).map((r) => ({
    field: r.field,
    operator: TO_REFINE[r.op],
    value: needsValue(r.op) ? r.value : true,
  }));
}

/** Sort in the URL: "field" or "-field". */
export function parseSort(s: string | null): CrudSort[] {
  if (!s) return [];
  return s
    .split(",")
    .filter(Boolean)
    .map((p) => (p.startsWith("-") ? { field: p.slice(1), order: "desc" as const } : { field: p, order: "asc" as const }));
}

export function formatSort(sorters: CrudSort[]): string {
  return sorters.map((s) => (s.order === "desc" ? "-" : "") + s.field).join(",");
}

const OPS = new Set<string>(Object.keys(OP_LABELS));

/** Filters in the URL: a JSON array of [field, op, value?]. Malformed input gives no filters. */
export function parseFilters(s: string | null): FilterRow[] {
  if (!s) return [];
  try {
    const raw: unknown = JSON.parse(s);
    if (!Array.isArray(raw)) return [];
    return raw.flatMap((r): FilterRow[] =>
      Array.isArray(r) && typeof r[0] === "string" && typeof r[1] === "string" && OPS.has(r[1])
        ? [{ field: r[0], op: r[1] as FilterOp, ...(r.length > 2 ? { value: r[2] } : {}) }]
        : [],
    );
  } catch {
    return [];
  }
}

export function formatFilters(rows: FilterRow[]): string {
  return JSON.stringify(
    rows.filter(complete).map((r) => (needsValue(r.op) ? [r.field, r.op, r.value] : [r.field, r.op])),
  );
}
