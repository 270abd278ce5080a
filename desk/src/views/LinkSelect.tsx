// A link field: a Select searching the target DocType as you type, labelled by the target's
// title_field when it has one. The value is the linked document's name.
// The search matches the name and, when there is one, the title (what the labels show: typing
// "Acme" must find "Acme Corporation (CUST-00001)"); the API combines filters with AND only, so
// that is two requests whose rows are merged. While the next search is on its way the options of
// the last one stay on screen (as the same elements: nothing to click vanishes under the pointer)
// and the Select shows that it is loading; an answer for a query that is no longer the current
// one never replaces the current one's options (each query has its own cache entry).
import { useEffect, useMemo, useState } from "react";
import { keepPreviousData, useQuery, type QueryFunctionContext } from "@tanstack/react-query";
import {
  keys,
  useDataProvider,
  useList,
  type BaseRecord,
  type DataProvider,
} from "@refinedev/core";
import { Select, Spin } from "antd";
import { useDoctypeMeta } from "../providers";

export const LINK_SEARCH_DEBOUNCE_MS = 250;
/** How many documents a search shows. */
export const LINK_SEARCH_LIMIT = 20;

export function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

export function linkLabel(row: BaseRecord, titleField: string | undefined): string {
  const name = String(row.name ?? "");
  const title = titleField ? row[titleField] : undefined;
  return title !== undefined && title !== null && title !== "" && String(title) !== name ? `${String(title)} (${name})` : name;
}

/** One search's answer, with the query it answers (shown while the next one loads). */
export interface LinkSearchResult {
  q: string;
  rows: BaseRecord[];
}

/**
 * The first LINK_SEARCH_LIMIT documents of `target` whose title (when there is a title field) or
 * name contains `q`, title matches first, each document once; every document when `q` is "".
 */
export async function searchLinks(
  dataProvider: DataProvider,
  target: string,
  q: string,
  titleField: string | undefined,
  queryContext?: Omit<QueryFunctionContext, "meta">,
): Promise<LinkSearchResult> {
  const fields = ["id", "name", ...(titleField ? [titleField] : [])];
  const page = async (field?: string) =>
    (
      await dataProvider.getList<BaseRecord>({
        resource: target,
        filters: field ? [{ field, operator: "contains", value: q }] : [],
        pagination: { currentPage: 1, pageSize: LINK_SEARCH_LIMIT, mode: "server" },
        meta: { fields, count: "none", queryContext }, // its signal aborts a superseded search
      })
    ).data;
  const lists = q ? await Promise.all([...(titleField ? [page(titleField)] : []), page("name")]) : [await page()];
  const seen = new Set<string>();
  const rows: BaseRecord[] = [];
  for (const row of lists.flat()) {
    const name = String(row.name ?? "");
    if (seen.has(name)) continue;
    seen.add(name);
    rows.push(row);
  }
  return { q, rows: rows.slice(0, LINK_SEARCH_LIMIT) };
}

interface Props {
  id?: string;
  value?: string | null;
  onChange?: (v: string | null) => void;
  target: string;
  disabled?: boolean;
  placeholder?: string;
}

export function LinkSelect({ id, value, onChange, target, disabled, placeholder }: Props) {
  const [open, setOpen] = useState(false);
  const [search, setSearch] = useState("");
  const typed = search.trim();
  const q = useDebounced(typed, LINK_SEARCH_DEBOUNCE_MS);
  const { data: tmeta } = useDoctypeMeta(target);
  const titleField = tmeta?.title_field && tmeta.title_field !== "name" ? tmeta.title_field : undefined;
  const dataProvider = useDataProvider();

  const found = useQuery({
    // Under Refine's list key of the target, so its invalidations (a document saved) reach it.
    queryKey: keys()
      .data("default")
      .resource(target)
      .action("list")
      .params({ link_search: q, title_field: titleField ?? null })
      .get(),
    queryFn: ({ client, queryKey, signal }) =>
      searchLinks(dataProvider(), target, q, titleField, { client, queryKey, signal }),
    enabled: open && !!tmeta,
    placeholderData: keepPreviousData,
  });
  const rows = found.data?.rows;
  // The options on screen are not yet those of what was typed: the debounce has not fired, or
  // the typed query's answer has not arrived (the previous one's are shown meanwhile).
  const loading = open && (typed !== q || found.isFetching || found.isPlaceholderData);

  // The current value's own row, for its title when it is not among the search results.
  const inResults = !!value && !!rows?.some((r) => r.name === value);
  const { result: current } = useList<BaseRecord>({
    resource: target,
    filters: [{ field: "name", operator: "eq", value }],
    pagination: { currentPage: 1, pageSize: 1, mode: "server" },
    meta: { fields: ["id", "name", ...(titleField ? [titleField] : [])], count: "none" },
    liveMode: "off",
    queryOptions: { enabled: !!value && !!titleField && !inResults },
  });
  const currentRow = current.data[0];

  // A new array (and new option objects) only when the rows, the value or its row change: not
  // on keystrokes that leave the debounced query as it is, nor on a refetch that brings the same
  // rows (react-query keeps the previous data's identity when the new data is equal).
  const options = useMemo(() => {
    const list = [...(rows ?? [])];
    if (value && !list.some((r) => r.name === value)) list.unshift(currentRow ?? { name: value });
    return list.map((r) => ({ value: String(r.name), label: linkLabel(r, titleField) }));
  }, [rows, currentRow, value, titleField]);

  return (
    <Select
      id={id}
      showSearch
      allowClear
      disabled={disabled}
      value={value ?? undefined}
      placeholder={placeholder ?? `Search ${tmeta?.label ?? target}…`}
      filterOption={false}
      onSearch={setSearch}
      onOpenChange={(o) => {
        setOpen(o);
        if (!o) setSearch("");
      }}
      onChange={(v: string | undefined) => onChange?.(v ?? null)}
      options={options}
      loading={loading}
      notFoundContent={
        loading || (rows === undefined && !found.isError) ? (
          <Spin size="small" />
        ) : found.isError ? (
          found.error.message || "The search failed"
        ) : (
          "No matches"
        )
      }
      // What the options answer and whether the next answer is pending, for the browser tests
      // (they wait for the typed query's options instead of guessing a delay).
      popupRender={(menu) => (
        <div data-testid="link-options" data-query={found.data?.q ?? ""} data-loading={loading ? "true" : "false"}>
          {menu}
        </div>
      )}
      style={{ width: "100%" }}
    />
  );
}
