import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { CrudFilter, CrudOperators } from "@refinedev/core";
import { configureHttp, ApiError } from "./http";
import { dataProvider } from "./dataProvider";
import { toServerFilters } from "./filters";
import { json, mockFetch, specError, type Handler } from "./test-utils";
import { resetSessionForTests } from "./session";

const realFetch = globalThis.fetch;
let calls: ReturnType<typeof mockFetch>["calls"];
function use(handler: Handler) {
  const m = mockFetch(handler);
  calls = m.calls;
  configureHttp({ fetch: m.fn, baseUrl: "" });
}
const list = (items: unknown[], extra: Record<string, unknown> = {}) =>
  json(200, { items, total: items.length, limit: 20, offset: 0, has_more: false, ...extra });
const params = (i = 0) => new URL(calls[i].url, "http://x").searchParams;

beforeEach(() => {
  resetSessionForTests();
  use(() => list([]));
});
afterEach(() => configureHttp({ fetch: (...a) => realFetch(...a) }));

describe("filter operators", () => {
  const one = (operator: CrudOperators, value: unknown) =>
    toServerFilters([{ field: "f", operator, value } as CrudFilter]);

  it.each([
    ["eq", 5, "eq", 5],
    ["eqs", "A", "eq", "A"],
    ["ne", 5, "ne", 5],
    ["nes", "A", "ne", "A"],
    ["lt", 1, "lt", 1],
    ["lte", 1, "lte", 1],
    ["gt", 1, "gt", 1],
    ["gte", 1, "gte", 1],
    ["in", ["a", "b"], "in", ["a", "b"]],
    ["nin", ["a"], "not_in", ["a"]],
    ["contains", "ab", "like", "%ab%"],
    ["containss", "Ab", "like", "%Ab%"],
    ["ncontains", "ab", "not_like", "%ab%"],
    ["ncontainss", "ab", "not_like", "%ab%"],
    ["startswith", "ab", "like", "ab%"],
    ["startswiths", "ab", "like", "ab%"],
    ["nstartswith", "ab", "not_like", "ab%"],
    ["nstartswiths", "ab", "not_like", "ab%"],
    ["endswith", "ab", "like", "%ab"],
    ["endswiths", "ab", "like", "%ab"],
    ["nendswith", "ab", "not_like", "%ab"],
    ["nendswiths", "ab", "not_like", "%ab"],
    ["between", [1, 9], "between", [1, 9]],
  ] as const)("%s → %s", (op, value, server, out) => {
    expect(one(op, value)).toEqual([{ field: "f", operator: server, value: out }]);
  });

  it("null / nnull ignore the value", () => {
    expect(one("null", true)).toEqual([{ field: "f", operator: "is_null" }]);
    expect(one("nnull", undefined)).toEqual([{ field: "f", operator: "is_not_null" }]);
  });

  it("passes % and _ through (the server's like has no ESCAPE)", () => {
    expect(one("contains", "50%_off")).toEqual([{ field: "f", operator: "like", value: "%50%_off%" }]);
    expect(one("contains", 42)).toEqual([{ field: "f", operator: "like", value: "%42%" }]);
  });

  it("drops filters whose value is not set yet", () => {
    expect(one("eq", undefined)).toEqual([]);
  });

  it.each(["nbetween", "ina", "nina"] as const)("refuses %s with a 400 naming it", (op) => {
    try {
      one(op, [1, 2]);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ApiError);
      expect((e as ApiError).statusCode).toBe(400);
      expect((e as ApiError).message).toContain(`'${op}'`);
    }
  });

  it("refuses between without [low, high]", () => {
    expect(() => one("between", 3)).toThrow(/between/);
  });

  it("flattens and, refuses or (also nested)", () => {
    const and: CrudFilter = {
      operator: "and",
      value: [
        { field: "a", operator: "eq", value: 1 },
        { operator: "and", value: [{ field: "b", operator: "gt", value: 2 }] },
      ],
    };
    expect(toServerFilters([and, { field: "c", operator: "null", value: true }])).toEqual([
      { field: "a", operator: "eq", value: 1 },
      { field: "b", operator: "gt", value: 2 },
      { field: "c", operator: "is_null" },
    ]);
    const or: CrudFilter = { operator: "or", value: [{ field: "a", operator: "eq", value: 1 }] };
    expect(() => toServerFilters([or])).toThrow(/'or' is not supported/);
    expect(() => toServerFilters([{ operator: "and", value: [or] }])).toThrow(ApiError);
  });
});

describe("getList", () => {
  it("maps pagination, sorters, filters, fields and count onto the query", async () => {
    use(() => list([{ id: "1" }], { total: 41 }));
    const r = await dataProvider.getList({
      resource: "Sales Invoice",
      pagination: { currentPage: 3, pageSize: 20, mode: "server" },
      sorters: [
        { field: "modified", order: "desc" },
        { field: "name", order: "asc" },
      ],
      filters: [{ field: "customer", operator: "contains", value: "acme" }],
      meta: { fields: ["id", "name"], count: "estimated" },
    });
    expect(r).toEqual({ data: [{ id: "1" }], total: 41, hasMore: false });
    expect(calls[0].url.startsWith("/api/v1/Sales%20Invoice?")).toBe(true);
    const q = params();
    expect(q.get("limit")).toBe("20");
    expect(q.get("offset")).toBe("40");
    expect(q.get("order_by")).toBe("-modified,name");
    expect(JSON.parse(q.get("filters")!)).toEqual([{ field: "customer", operator: "like", value: "%acme%" }]);
    expect(q.get("fields")).toBe("id,name");
    expect(q.get("count")).toBe("estimated");
    expect(calls[0].method).toBe("GET");
  });

  it("defaults to page 1 of 10 and sends no empty parameters", async () => {
    await dataProvider.getList({ resource: "Customer" });
    expect(calls[0].url).toBe("/api/v1/Customer?limit=10&offset=0");
  });

  it("fetches the API maximum for client/off pagination", async () => {
    await dataProvider.getList({ resource: "Customer", pagination: { mode: "off" } });
    expect(params().get("limit")).toBe("1000");
  });

  it("refuses pageSize over the API max without a request", async () => {
    await expect(
      dataProvider.getList({ resource: "Customer", pagination: { currentPage: 1, pageSize: 1001 } }),
    ).rejects.toMatchObject({ statusCode: 400, message: expect.stringContaining("1000") });
    expect(calls).toHaveLength(0);
  });

  it("refused operators reject without a request", async () => {
    await expect(
      dataProvider.getList({ resource: "Customer", filters: [{ field: "a", operator: "nbetween", value: [1, 2] }] }),
    ).rejects.toMatchObject({ statusCode: 400, message: expect.stringContaining("nbetween") });
    expect(calls).toHaveLength(0);
  });

  it("count none: total from has_more", async () => {
    use(() => json(200, { items: [{ id: "a" }, { id: "b" }], total: null, limit: 2, offset: 4, has_more: true }));
    const r = await dataProvider.getList({ resource: "C", pagination: { currentPage: 3, pageSize: 2 }, meta: { count: "none" } });
    expect(r.total).toBe(7);
    expect(params().get("count")).toBe("none");
    use(() => json(200, { items: [{ id: "a" }], total: null, limit: 2, offset: 4, has_more: false }));
    const last = await dataProvider.getList({ resource: "C", pagination: { currentPage: 3, pageSize: 2 }, meta: { count: "none" } });
    expect(last.total).toBe(5);
  });

  it("passes the server's error through as ApiError", async () => {
    use(() => specError(400, "ValidationError", "DocType 'C': filter on 'zz': unknown field"));
    await expect(dataProvider.getList({ resource: "C" })).rejects.toMatchObject({
      statusCode: 400,
      error: "ValidationError",
      message: "DocType 'C': filter on 'zz': unknown field",
    });
  });
});

describe("documents", () => {
  it("getOne, create, deleteOne", async () => {
    use((c) =>
      c.method === "DELETE" ? new Response(null, { status: 204 }) : json(c.method === "POST" ? 201 : 200, { id: "x1", name: "N" }),
    );
    expect((await dataProvider.getOne({ resource: "Customer", id: "a/b" })).data).toEqual({ id: "x1", name: "N" });
    expect(calls[0].url).toBe("/api/v1/Customer/a%2Fb");
    await dataProvider.create({ resource: "Customer", variables: { customer_name: "Z" } });
    expect(calls[1]).toMatchObject({ method: "POST", url: "/api/v1/Customer", body: { customer_name: "Z" } });
    expect(calls[1].headers.get("Content-Type")).toBe("application/json");
    expect(await dataProvider.deleteOne({ resource: "Customer", id: "x1" })).toEqual({ data: { id: "x1" } });
    expect(calls[2]).toMatchObject({ method: "DELETE", url: "/api/v1/Customer/x1" });
  });

  it("update sends modified in the body and as If-Match", async () => {
    use(() => json(200, { id: "x1", modified: "2026-01-02 00:00:00.000001" }));
    const modified = "2026-01-01 10:00:00.123456";
    await dataProvider.update({ resource: "Invoice", id: "x1", variables: { total: 3, modified } });
    expect(calls[0]).toMatchObject({ method: "PUT", url: "/api/v1/Invoice/x1", body: { total: 3, modified } });
    expect(calls[0].headers.get("If-Match")).toBe(`"${modified}"`);
  });

  it("update conflict → ApiError Conflict 409", async () => {
    use(() =>
      specError(409, "Conflict", "Invoice 'INV-1' was modified by someone else at A (your copy is from B); reload and try again", {
        reason: "stale",
        modified: "A",
      }),
    );
    const err = await dataProvider.update({ resource: "Invoice", id: "x1", variables: { modified: "B" } }).catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ statusCode: 409, error: "Conflict", reason: "stale", details: { reason: "stale", modified: "A" } });
  });

  it("validation errors land in errors by field path", async () => {
    const details = [
      { field: "customer", row: null, child: null, code: "required", message: "field 'customer' is required" },
      { field: "items", row: 1, child: "qty", code: "required", message: "field 'qty' is required" },
    ];
    use(() =>
      specError(400, "ValidationError", "DocType 'Invoice': field 'customer' is required; field 'items' row 1: field 'qty' is required", details),
    );
    const err = await dataProvider.create({ resource: "Invoice", variables: {} }).catch((e) => e);
    expect(err.errors).toEqual({ customer: ["field 'customer' is required"], "items.0.qty": ["field 'qty' is required"] });
    expect(err.rowErrors).toEqual({ items: { 0: { qty: ["field 'qty' is required"] } } });
  });

  it("getMany uses one in filter", async () => {
    use(() => list([{ id: "a" }, { id: "b" }]));
    const r = await dataProvider.getMany!({ resource: "Customer", ids: ["a", "b"] });
    expect(r.data).toHaveLength(2);
    expect(JSON.parse(params().get("filters")!)).toEqual([{ field: "id", operator: "in", value: ["a", "b"] }]);
    expect(params().get("limit")).toBe("2");
    await dataProvider.getMany!({ resource: "Customer", ids: ["N1"], meta: { idField: "name" } });
    expect(JSON.parse(params(1).get("filters")!)[0].field).toBe("name");
  });

  it("custom passes url, method, payload and query", async () => {
    use(() => json(200, { id: "x1", docstatus: 1 }));
    const r = await dataProvider.custom!({ url: "/api/v1/Invoice/x1/submit", method: "post" });
    expect(r.data).toEqual({ id: "x1", docstatus: 1 });
    expect(calls[0]).toMatchObject({ url: "/api/v1/Invoice/x1/submit", method: "POST" });
    await dataProvider.custom!({
      url: "/api/v1/rpc/Invoice/recalc",
      method: "post",
      payload: { doc_id: "x1" },
      query: { dry: 1, tags: ["a"] },
    });
    expect(calls[1]).toMatchObject({ method: "POST", body: { doc_id: "x1" } });
    expect(calls[1].url).toBe("/api/v1/rpc/Invoice/recalc?dry=1&tags=%5B%22a%22%5D");
    await dataProvider.custom!({ url: "/api/v1/Invoice", method: "get", filters: [{ field: "docstatus", operator: "eq", value: 1 }] });
    expect(calls[2].url).toContain("filters=");
    expect(calls[2].body).toBeUndefined();
    expect(dataProvider.getApiUrl()).toBe("/api/v1");
  });
});
