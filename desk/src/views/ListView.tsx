// /app/:doctype — columns from in_list_view, server-side sort/pagination, filters in the URL,
// live refresh through Refine's live mode.
import { useMemo } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { useInvalidate, useList, type BaseRecord, type CrudSort } from "@refinedev/core";
import { keepPreviousData } from "@tanstack/react-query";
import { Alert, Button, Space, Table, Tag, Typography } from "antd";
import type { TableColumnsType, TablePaginationConfig } from "antd";
import type { SorterResult } from "antd/es/table/interface";
import { PlusOutlined, ReloadOutlined } from "@ant-design/icons";
import { primedListResult, useDoctypeMeta, type DocTypeMeta, type FieldMeta } from "../providers";
import { PageSpinner } from "../shell/DeskLayout";
import { FilterBar, filterableFields } from "./FilterBar";
import { formatFilters, formatSort, parseFilters, type FilterRow } from "./filters";
import { formatValue } from "./format";
import { DEFAULT_PAGE_SIZE, PAGE_SIZES, listFields, listRequestOf } from "./listParams";
import { docPath, newDocPath } from "../routes";

const STANDARD_FILTERS = ["name", "owner", "creation", "modified", "modified_by"];

/** Fields offered in the filter bar: name first, then the DocType's own, then the other standard ones. */
export function filterFieldsOf(meta: DocTypeMeta): FieldMeta[] {
  const std = new Map(meta.standard_fields.map((f) => [f.name, f]));
  const pick = (n: string) => std.get(n);
  const extra = meta.is_submittable ? [...STANDARD_FILTERS, "docstatus"] : STANDARD_FILTERS;
  return filterableFields([
    ...[pick("name")].filter((f): f is FieldMeta => !!f),
    ...meta.fields,
    ...extra.slice(1).map(pick).filter((f): f is FieldMeta => !!f),
  ]);
}

function Cell({ field, value }: { field: FieldMeta; value: unknown }) {
  if (value === null || value === undefined || value === "") return null;
  if (field.type === "select") return <Tag>{String(value)}</Tag>;
  if (field.type === "link" && typeof field.options === "string")
    return (
      <Link to={docPath(field.options, String(value))} onClick={(e) => e.stopPropagation()}>
        {String(value)}
      </Link>
    );
  const text = formatValue(field, value);
  return field.type === "int" || field.type === "float" || field.type === "decimal" ? (
    <span style={{ fontVariantNumeric: "tabular-nums" }}>{text}</span>
  ) : (
    <>{text}</>
  );
}

/** The table's columns: the name (a link to the document), then the list view's fields. */
function listColumns(
  doctype: string,
  meta: DocTypeMeta,
  columnsMeta: FieldMeta[],
  sorters: CrudSort[],
): TableColumnsType<BaseRecord> {
  const nameField = meta.standard_fields.find((f) => f.name === "name");
  const sortOrderOf = (field: string) => {
    const s = sorters.find((x) => x.field === field);
    return s ? (s.order === "asc" ? ("ascend" as const) : ("descend" as const)) : null;
  };
  return [
    {
      key: "name",
      dataIndex: "name",
      title: nameField?.label ?? "Name",
      sorter: true,
      sortOrder: sortOrderOf("name"),
      render: (v: unknown, r) => (
        <Link to={docPath(doctype, String(r.id))}>{String(v ?? r.id)}</Link>
      ),
    },
    ...columnsMeta.map((f) => ({
      key: f.name,
      dataIndex: f.name,
      title: f.label || f.name,
      sorter: f.type !== "table" && f.type !== "json",
      sortOrder: sortOrderOf(f.name),
      align: (f.type === "int" || f.type === "float" || f.type === "decimal" ? "right" : f.type === "check" ? "center" : undefined) as
        | "right"
        | "center"
        | undefined,
      render: (v: unknown) => <Cell field={f} value={v} />,
    })),
  ];
}

/** The URL query after a table change: its sort, and its page and page size (a new sort or size: page 1). */
function tableChangeQuery(
  pg: TablePaginationConfig,
  sorter: SorterResult<BaseRecord> | SorterResult<BaseRecord>[],
  sortParam: string | null,
  pageSize: number,
): Record<string, string | null> {
  const s = Array.isArray(sorter) ? sorter[0] : sorter;
  const field = s?.order ? String(s.columnKey ?? s.field ?? "") : "";
  const sort = field ? formatSort([{ field, order: s!.order === "ascend" ? "asc" : "desc" }]) : "";
  const sortChanged = sort !== (sortParam ?? "");
  const size = pg.pageSize ?? pageSize;
  return {
    sort: sort || null,
    page: sortChanged || size !== pageSize ? null : pg.current && pg.current > 1 ? String(pg.current) : null,
    pageSize: size !== DEFAULT_PAGE_SIZE ? String(size) : null,
  };
}

function ListBody({ doctype, meta }: { doctype: string; meta: DocTypeMeta }) {
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  // The same request as the boot prefetch's for this URL (src/prefetch.ts), so its page is used.
  const request = useMemo(() => listRequestOf(meta, params), [meta, params]);
  const { currentPage: page, pageSize } = request.pagination;
  const sorters = request.sorters;
  const sortParam = params.get("sort");
  const filtersParam = params.get("filters");
  const filterRows = useMemo(() => parseFilters(filtersParam), [filtersParam]);
  const columnsMeta = useMemo(() => listFields(meta), [meta]);
  const { result, query } = useList<BaseRecord>({
    resource: doctype,
    ...request,
    liveMode: "auto",
    queryOptions: {
      placeholderData: keepPreviousData,
      // The page prefetched at boot, if it is this one: rows in the first render.
      initialData: primedListResult(doctype, request),
    },
  });

  const setQuery = (patch: Record<string, string | null>) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(patch)) {
      if (v === null || v === "") next.delete(k);
      else next.set(k, v);
    }
    setParams(next);
  };

  const columns = listColumns(doctype, meta, columnsMeta, sorters);
  const onChange = (
    pg: TablePaginationConfig,
    _filters: unknown,
    sorter: SorterResult<BaseRecord> | SorterResult<BaseRecord>[],
  ) => setQuery(tableChangeQuery(pg, sorter, sortParam, pageSize));

  const applyFilters = (rows: FilterRow[]) => {
    const f = formatFilters(rows);
    setQuery({ filters: f === "[]" ? null : f, page: null });
  };

  const total = result.total ?? 0;
  const err = query.error as { message?: string } | null;

  return (
    <>
      <FilterBar key={filtersParam ?? ""} fields={filterFieldsOf(meta)} applied={filterRows} onApply={applyFilters} />
      {err && <Alert type="error" showIcon message={err.message ?? "Could not load the list"} style={{ marginBottom: 16 }} />}
      <Typography.Text type="secondary" data-testid="list-total" style={{ display: "block", marginBottom: 8 }}>
        {query.isLoading ? "Loading…" : `${total} ${total === 1 ? "record" : "records"}`}
      </Typography.Text>
      <Table<BaseRecord>
        rowKey="id"
        size="middle"
        columns={columns}
        dataSource={result.data}
        loading={query.isLoading}
        onChange={onChange}
        onRow={(r) => ({
          onClick: () => navigate(docPath(doctype, String(r.id))),
          style: { cursor: "pointer" },
        })}
        pagination={{
          current: page,
          pageSize,
          total,
          showSizeChanger: true,
          pageSizeOptions: PAGE_SIZES,
          showTotal: (t, [a, b]) => `${a}–${b} of ${t}`,
        }}
        scroll={{ x: "max-content" }}
      />
    </>
  );
}

export default function ListView({ doctype }: { doctype: string }) {
  const { data: meta, error, isLoading } = useDoctypeMeta(doctype);
  const navigate = useNavigate();
  const invalidate = useInvalidate();
  const canCreate = !!meta?.permissions?.create && !meta.is_single;
  return (
    <div data-testid="list-view" data-doctype={doctype}>
      <Space style={{ width: "100%", justifyContent: "space-between", marginBottom: 16 }} align="center">
        <Typography.Title level={3} style={{ margin: 0 }}>
          {meta?.label ?? doctype}
        </Typography.Title>
        <Space>
          <Button
            data-testid="list-reload"
            icon={<ReloadOutlined />}
            aria-label="Reload"
            onClick={() => void invalidate({ resource: doctype, invalidates: ["list"] })}
          />
          {canCreate && (
            <Button
              data-testid="list-new"
              type="primary"
              icon={<PlusOutlined />}
              onClick={() => navigate(newDocPath(doctype))}
            >
              New {meta?.label ?? doctype}
            </Button>
          )}
        </Space>
      </Space>
      {isLoading && <PageSpinner />}
      {error && <Alert type="error" showIcon message={(error as Error).message || `Unknown DocType ${doctype}`} />}
      {meta && <ListBody doctype={doctype} meta={meta} />}
    </div>
  );
}
