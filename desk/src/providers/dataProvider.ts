// frameworkMDataProvider: Refine's DataProvider (v5) onto the REST API (docs/reference/desk.md,
// "Data provider").
// resource = DocType name; ids are documents' `id`s (the API also takes names).
import type { BaseRecord, DataProvider, MetaQuery, Pagination } from "@refinedev/core";
import { ApiError, apiFetch } from "./http";
import { toOrderBy, toServerFilters } from "./filters";

export const API_MAX_LIMIT = 1000;
const DEFAULT_PAGE_SIZE = 10;

interface ListReply<T> {
  items: T[];
  total: number | null;
  limit: number;
  offset: number;
  has_more: boolean;
}

const seg = (s: string | number) => encodeURIComponent(String(s));
const docPath = (resource: string, id?: string | number) =>
  `/api/v1/${seg(resource)}` + (id === undefined ? "" : `/${seg(id)}`);

function signalOf(meta: MetaQuery | undefined): AbortSignal | undefined {
  return (meta?.queryContext as { signal?: AbortSignal } | undefined)?.signal;
}

/** limit/offset of a Refine pagination; "client"/"off" fetch one API page of the maximum. */
export function toLimitOffset(p: Pagination | undefined): { limit: number; offset: number } {
  if (p?.mode === "off" || p?.mode === "client") return { limit: API_MAX_LIMIT, offset: 0 };
  const pageSize = p?.pageSize ?? DEFAULT_PAGE_SIZE;
  const page = p?.currentPage ?? 1;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > API_MAX_LIMIT) {
    throw new ApiError(
      400,
      "ValidationError",
      `pageSize must be from 1 to ${API_MAX_LIMIT} (the API's maximum), got ${pageSize}`,
    );
  }
  if (!Number.isInteger(page) || page < 1) {
    throw new ApiError(400, "ValidationError", `currentPage must be 1 or more, got ${page}`);
  }
  return { limit: pageSize, offset: (page - 1) * pageSize };
}

/** `meta.fields` and `meta.count` → query parameters. */
function metaParams(q: URLSearchParams, meta: MetaQuery | undefined): void {
  const fields = meta?.fields;
  if (Array.isArray(fields) && fields.length) {
    q.set("fields", fields.map((f) => String(f)).join(","));
  }
  const count = meta?.count;
  if (count !== undefined) {
    if (count !== "exact" && count !== "estimated" && count !== "none") {
      throw new ApiError(400, "ValidationError", `meta.count must be exact, estimated or none, got '${String(count)}'`);
    }
    q.set("count", count);
  }
}

/** Query string of a list: the one place that knows the API's parameter names. */
export function listQuery(params: {
  pagination?: Pagination;
  sorters?: Parameters<typeof toOrderBy>[0];
  filters?: Parameters<typeof toServerFilters>[0];
  meta?: MetaQuery;
}): URLSearchParams {
  const { limit, offset } = toLimitOffset(params.pagination);
  const q = new URLSearchParams();
  q.set("limit", String(limit));
  q.set("offset", String(offset));
  const orderBy = toOrderBy(params.sorters);
  if (orderBy) q.set("order_by", orderBy);
  const filters = toServerFilters(params.filters);
  if (filters.length) q.set("filters", JSON.stringify(filters));
  metaParams(q, params.meta);
  return q;
}

// A list page fetched ahead of its view (src/prefetch.ts, at boot), keyed by its exact URL and
// answered once to the first getList asking for that URL; stale after PRIMED_MAX_AGE.
const PRIMED_MAX_AGE = 10_000;
interface PrimedList {
  reply: Promise<ListReply<BaseRecord>>;
  at: number;
  /** the reply, once it has arrived */
  value?: ListReply<BaseRecord>;
}
const primedLists = new Map<string, PrimedList>();

function listResult(reply: ListReply<BaseRecord>): { data: BaseRecord[]; total: number; hasMore: boolean } {
  // count=none: no total; claim one row past this page when there is more, so a pager
  // offers the next page.
  const total = reply.total ?? reply.offset + reply.items.length + (reply.has_more ? 1 : 0);
  return { data: reply.items, total, hasMore: reply.has_more };
}

/** Starts fetching the list page getList would fetch for these parameters. */
export function prefetchList(resource: string, params: Parameters<typeof listQuery>[0]): Promise<unknown> {
  const url = `${docPath(resource)}?${listQuery(params)}`;
  const entry: PrimedList = { reply: apiFetch<ListReply<BaseRecord>>(url), at: Date.now() };
  primedLists.set(url, entry);
  // A failure is the later getList's to report (it asks again).
  return entry.reply.then((v) => (entry.value = v), () => undefined);
}

/**
 * The getList result of a prefetched list page that has arrived and not been used yet (for a
 * list view's initialData: its rows in the first render), or undefined.
 */
export function primedListResult(
  resource: string,
  params: Parameters<typeof listQuery>[0],
): { data: BaseRecord[]; total: number; hasMore: boolean } | undefined {
  let url: string;
  try {
    url = `${docPath(resource)}?${listQuery(params)}`;
  } catch {
    return undefined;
  }
  const p = primedLists.get(url);
  return p?.value && Date.now() - p.at <= PRIMED_MAX_AGE ? listResult(p.value) : undefined;
}

function takePrimedList(url: string): Promise<ListReply<BaseRecord>> | null {
  const p = primedLists.get(url);
  if (!p) return null;
  primedLists.delete(url);
  return Date.now() - p.at <= PRIMED_MAX_AGE ? p.reply : null;
}

function queryValue(v: unknown): string {
  return typeof v === "string" ? v : JSON.stringify(v);
}

export const frameworkMDataProvider = {
  getApiUrl: () => "/api/v1",

  async getList({ resource, pagination, sorters, filters, meta }) {
    const q = listQuery({ pagination, sorters, filters, meta });
    const url = `${docPath(resource)}?${q}`;
    const primed = takePrimedList(url);
    const reply =
      (primed && (await primed.catch(() => null))) ??
      (await apiFetch<ListReply<BaseRecord>>(url, { signal: signalOf(meta) }));
    return listResult(reply) as never;
  },

  async getOne({ resource, id, meta }) {
    const doc = await apiFetch<BaseRecord>(docPath(resource, id), { signal: signalOf(meta) });
    return { data: doc as never };
  },

  /** ids via one `in` filter per 1000; meta.idField picks the key (default "id", or "name"). */
  async getMany({ resource, ids, meta }) {
    const field = typeof meta?.idField === "string" ? meta.idField : "id";
    const out: BaseRecord[] = [];
    for (let i = 0; i < ids.length; i += API_MAX_LIMIT) {
      const chunk = ids.slice(i, i + API_MAX_LIMIT);
      const q = new URLSearchParams();
      q.set("limit", String(chunk.length));
      q.set("filters", JSON.stringify([{ field, operator: "in", value: chunk }]));
      q.set("count", "none");
      metaParams(q, { ...meta, count: undefined });
      const reply = await apiFetch<ListReply<BaseRecord>>(`${docPath(resource)}?${q}`, {
        signal: signalOf(meta),
      });
      out.push(...reply.items);
    }
    return { data: out as never[] };
  },

  async create({ resource, variables }) {
    const doc = await apiFetch<BaseRecord>(docPath(resource), { method: "POST", body: variables as object });
    return { data: doc as never };
  },

  /** Sends the loaded `modified` (optimistic concurrency): 409 Conflict if someone saved since. */
  async update({ resource, id, variables }) {
    const vars = (variables ?? {}) as Record<string, unknown>;
    const headers: Record<string, string> = {};
    if (typeof vars.modified === "string" && vars.modified) {
      headers["If-Match"] = `"${vars.modified}"`;
    }
    const doc = await apiFetch<BaseRecord>(docPath(resource, id), {
      method: "PUT",
      headers,
      body: vars,
    });
    return { data: doc as never };
  },

  async deleteOne({ resource, id }) {
    await apiFetch(docPath(resource, id), { method: "DELETE" });
    return { data: { id } as never };
  },

  /** Any API call: `url` is a path ("/api/v1/Invoice/<id>/submit") or a full URL. */
  async custom({ url, method, payload, query, headers, sorters, filters, meta }) {
    const q = new URLSearchParams();
    if (query && typeof query === "object") {
      for (const [k, v] of Object.entries(query as Record<string, unknown>)) {
        if (v !== undefined && v !== null) q.set(k, queryValue(v));
      }
    }
    const orderBy = toOrderBy(sorters);
    if (orderBy) q.set("order_by", orderBy);
    const flt = toServerFilters(filters);
    if (flt.length) q.set("filters", JSON.stringify(flt));
    const qs = q.toString();
    const full = qs ? `${url}${url.includes("?") ? "&" : "?"}${qs}` : url;
    const upper = method.toUpperCase();
    const data = await apiFetch<unknown>(full, {
      method: upper,
      headers: headers as Record<string, string> | undefined,
      body: upper === "GET" || upper === "HEAD" || payload === undefined ? undefined : (payload as object),
      signal: signalOf(meta),
    });
    return { data: (data ?? null) as never };
  },
} satisfies DataProvider;

export const dataProvider: DataProvider = frameworkMDataProvider;
