// Refine CrudFilters / CrudSorting → the API's list parameters (docs/reference/desk.md, "Filters").
//
// `like` on the server (core/src/repository.cpp) is `LOWER(col) LIKE LOWER(?)` with no ESCAPE
// clause, so a `%` or `_` typed by the user cannot be escaped: it stays a wildcard (a slightly
// wider match, never a narrower one). We pass the text through unchanged rather than invent an
// escape the server would read literally. Matching is case-insensitive on both databases, so the
// case-sensitive Refine variants (containss, startswiths, ...) match case-insensitively too.
import type { CrudFilter, CrudOperators, CrudSort, LogicalFilter } from "@refinedev/core";
import { ApiError } from "./http";

export type ServerOperator =
  | "eq"
  | "ne"
  | "lt"
  | "lte"
  | "gt"
  | "gte"
  | "in"
  | "not_in"
  | "like"
  | "not_like"
  | "is_null"
  | "is_not_null"
  | "between";

export interface ServerFilter {
  field: string;
  operator: ServerOperator;
  value?: unknown;
}

type Like = { op: "like" | "not_like"; before: boolean; after: boolean };

const DIRECT: Partial<Record<CrudOperators, ServerOperator>> = {
  eq: "eq",
  eqs: "eq", // the server's = is already case-sensitive
  ne: "ne",
  nes: "ne",
  lt: "lt",
  lte: "lte",
  gt: "gt",
  gte: "gte",
  in: "in",
  nin: "not_in",
};

const LIKE: Partial<Record<CrudOperators, Like>> = {
  contains: { op: "like", before: true, after: true },
  containss: { op: "like", before: true, after: true },
  ncontains: { op: "not_like", before: true, after: true },
  ncontainss: { op: "not_like", before: true, after: true },
  startswith: { op: "like", before: false, after: true },
  startswiths: { op: "like", before: false, after: true },
  nstartswith: { op: "not_like", before: false, after: true },
  nstartswiths: { op: "not_like", before: false, after: true },
  endswith: { op: "like", before: true, after: false },
  endswiths: { op: "like", before: true, after: false },
  nendswith: { op: "not_like", before: true, after: false },
  nendswiths: { op: "not_like", before: true, after: false },
};

const WHY_NOT: Partial<Record<CrudOperators, string>> = {
  or: "the API combines filters with AND only",
  nbetween: "the API has no 'not between'; use two filters (lt and gt) in separate queries",
  ina: "the API has no array-contains operator",
  nina: "the API has no array-contains operator",
};

function refuse(operator: string, why?: string): ApiError {
  return new ApiError(
    400,
    "ValidationError",
    `filter operator '${operator}' is not supported` + (why ? `: ${why}` : ""),
  );
}

function logical(f: LogicalFilter): ServerFilter | null {
  const op = f.operator;
  if (op === "null") return { field: f.field, operator: "is_null" };
  if (op === "nnull") return { field: f.field, operator: "is_not_null" };
  // An unset value means the user has not filled the filter in yet.
  if (f.value === undefined) return null;
  const direct = DIRECT[op];
  if (direct) return { field: f.field, operator: direct, value: f.value };
  const like = LIKE[op];
  if (like) {
    const text = String(f.value);
    const pattern = (like.before ? "%" : "") + text + (like.after ? "%" : "");
    return { field: f.field, operator: like.op, value: pattern };
  }
  if (op === "between") {
    if (!Array.isArray(f.value) || f.value.length !== 2) {
      throw new ApiError(400, "ValidationError", `filter 'between' on '${f.field}' needs [low, high]`);
    }
    return { field: f.field, operator: "between", value: [f.value[0], f.value[1]] };
  }
  throw refuse(op, WHY_NOT[op]);
}

/** Flattens `and` groups; refuses `or` and the operators the server lacks (ApiError 400). */
export function toServerFilters(filters: CrudFilter[] | undefined): ServerFilter[] {
  const out: ServerFilter[] = [];
  const walk = (list: CrudFilter[]) => {
    for (const f of list) {
      if (f.operator === "and") walk(f.value);
      else if (f.operator === "or") throw refuse("or", WHY_NOT.or);
      else {
        const s = logical(f as LogicalFilter);
        if (s) out.push(s);
      }
    }
  };
  walk(filters ?? []);
  return out;
}

/** [{field:"modified",order:"desc"},{field:"name",order:"asc"}] → "-modified,name" */
export function toOrderBy(sorters: CrudSort[] | undefined): string | undefined {
  if (!sorters?.length) return undefined;
  return sorters.map((s) => (s.order === "desc" ? "-" : "") + s.field).join(",");
}
