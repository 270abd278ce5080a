// A link field: a Select searching the target DocType as you type (name like %q%), labelled by
// the target's title_field when it has one. The value is the linked document's name.
import { useEffect, useMemo, useState } from "react";
import { useList, type BaseRecord, type CrudFilter } from "@refinedev/core";
import { Select, Spin } from "antd";
import { useDoctypeMeta } from "../providers";

export const LINK_SEARCH_DEBOUNCE_MS = 250;

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
  const q = useDebounced(search.trim(), LINK_SEARCH_DEBOUNCE_MS);
  const { data: tmeta } = useDoctypeMeta(target);
  const titleField = tmeta?.title_field && tmeta.title_field !== "name" ? tmeta.title_field : undefined;
  const fields = ["id", "name", ...(titleField ? [titleField] : [])];
  const filters: CrudFilter[] = q ? [{ field: "name", operator: "contains", value: q }] : [];

  const { result, query } = useList<BaseRecord>({
    resource: target,
    filters,
    pagination: { currentPage: 1, pageSize: 20, mode: "server" },
    meta: { fields, count: "none" },
    liveMode: "off",
    queryOptions: { enabled: open && !!tmeta },
  });

  // The current value's own row, for its title when it is not among the search results.
  const inResults = !!value && result.data.some((r) => r.name === value);
  const { result: current } = useList<BaseRecord>({
    resource: target,
    filters: [{ field: "name", operator: "eq", value }],
    pagination: { currentPage: 1, pageSize: 1, mode: "server" },
    meta: { fields, count: "none" },
    liveMode: "off",
    queryOptions: { enabled: !!value && !!titleField && !inResults },
  });

  const options = useMemo(() => {
    const rows = [...result.data];
    if (value && !rows.some((r) => r.name === value)) rows.unshift(current.data[0] ?? { name: value });
    return rows.map((r) => ({ value: String(r.name), label: linkLabel(r, titleField) }));
  }, [result.data, current.data, value, titleField]);

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
      notFoundContent={query.isFetching ? <Spin size="small" /> : "No matches"}
      style={{ width: "100%" }}
    />
  );
}
