// What a list view asks the data provider for, from the DocType's metadata and the URL's query
// string. Shared by ListView and the boot prefetch (src/prefetch.ts), which must build the same
// request to be of use.
import type { CrudFilter, CrudSort } from "@refinedev/core";
import type { DocTypeMeta, FieldMeta } from "../providers";
import { parseFilters, parseSort, toCrudFilters } from "./filters";

export const PAGE_SIZES = [10, 20, 50, 100];
export const DEFAULT_PAGE_SIZE = 20;

export function listFields(meta: DocTypeMeta): FieldMeta[] {
  return meta.fields.filter((f) => f.in_list_view && !f.hidden && f.type !== "password" && f.name !== "name");
}

export function pageOf(params: URLSearchParams): number {
  return Math.max(1, Number(params.get("page")) || 1);
}

export function pageSizeOf(params: URLSearchParams): number {
  const n = Number(params.get("pageSize"));
  return PAGE_SIZES.includes(n) ? n : DEFAULT_PAGE_SIZE;
}

/** The fields a list fetches: id, name and the columns. */
export function listFetchFields(columns: FieldMeta[]): string[] {
  return ["id", "name", ...columns.map((f) => f.name)];
}

/** The getList parameters of the list view at this URL. */
export function listRequestOf(
  meta: DocTypeMeta,
  params: URLSearchParams,
): {
  pagination: { currentPage: number; pageSize: number; mode: "server" };
  sorters: CrudSort[];
  filters: CrudFilter[];
  meta: { fields: string[] };
} {
  return {
    pagination: { currentPage: pageOf(params), pageSize: pageSizeOf(params), mode: "server" },
    sorters: parseSort(params.get("sort")),
    filters: toCrudFilters(parseFilters(params.get("filters"))),
    meta: { fields: listFetchFields(listFields(meta)) },
  };
}
