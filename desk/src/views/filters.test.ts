import { describe, expect, it } from "vitest";
import type { FieldType } from "../providers";
import { formatFilters, formatSort, operatorsFor, parseFilters, parseSort, toCrudFilters } from "./filters";

describe("operatorsFor", () => {
  it("offers only operators that fit the field type", () => {
    const table: Record<FieldType, string[]> = {
      data: ["like", "not_like", "eq", "ne", "is_null", "is_not_null"],
      text: ["like", "not_like", "eq", "ne", "is_null", "is_not_null"],
      int: ["eq", "ne", "lt", "lte", "gt", "gte", "between"],
      float: ["eq", "ne", "lt", "lte", "gt", "gte", "between"],
      decimal: ["eq", "ne", "lt", "lte", "gt", "gte", "between"],
      date: ["eq", "ne", "lt", "lte", "gt", "gte", "between"],
      datetime: ["eq", "ne", "lt", "lte", "gt", "gte", "between"],
      time: ["eq", "ne", "lt", "lte", "gt", "gte", "between"],
      select: ["eq", "ne", "in"],
      check: ["eq"],
      link: ["eq", "like"],
      uuid: ["eq", "ne", "is_null", "is_not_null"],
      json: [],
      table: [],
      password: [],
    };
    for (const [type, ops] of Object.entries(table)) expect(operatorsFor(type as FieldType), type).toEqual(ops);
  });

  it("never offers like on numbers or ordering on text", () => {
    expect(operatorsFor("int")).not.toContain("like");
    expect(operatorsFor("data")).not.toContain("lt");
  });
});

describe("toCrudFilters", () => {
  it("maps to Refine operators and drops rows that are not filled in", () => {
    expect(
      toCrudFilters([
        { field: "customer_name", op: "like", value: "acme" },
        { field: "credit_limit", op: "gte", value: 1000 },
        { field: "notes", op: "is_null" },
        { field: "status", op: "in", value: ["Active", "On Hold"] },
        { field: "since", op: "between", value: ["2020-01-01", "2020-12-31"] },
        { field: "email", op: "eq", value: "" },
        { field: "since", op: "between", value: ["2020-01-01"] },
        { field: "status", op: "in", value: [] },
        { field: "paid", op: "eq", value: false },
      ]),
    ).toEqual([
      { field: "customer_name", operator: "contains", value: "acme" },
      { field: "credit_limit", operator: "gte", value: 1000 },
      { field: "notes", operator: "null", value: true },
      { field: "status", operator: "in", value: ["Active", "On Hold"] },
      { field: "since", operator: "between", value: ["2020-01-01", "2020-12-31"] },
      { field: "paid", operator: "eq", value: false },
    ]);
  });
});

describe("URL state", () => {
  it("round-trips filters and sort through the query string", () => {
    const rows = [
      { field: "credit_limit", op: "gte" as const, value: 1000 },
      { field: "notes", op: "is_not_null" as const },
    ];
    const qs = new URLSearchParams({ filters: formatFilters(rows), sort: formatSort([{ field: "name", order: "desc" }]) });
    const back = new URLSearchParams(qs.toString());
    expect(parseFilters(back.get("filters"))).toEqual(rows);
    expect(parseSort(back.get("sort"))).toEqual([{ field: "name", order: "desc" }]);
    expect(back.get("sort")).toBe("-name");
  });

  it("ignores malformed filters instead of failing", () => {
    expect(parseFilters("not json")).toEqual([]);
    expect(parseFilters('{"a":1}')).toEqual([]);
    expect(parseFilters('[["x","drop table"],["y","eq",1],[1,"eq"]]')).toEqual([{ field: "y", op: "eq", value: 1 }]);
    expect(parseSort(null)).toEqual([]);
    expect(parseSort("a,-b")).toEqual([
      { field: "a", order: "asc" },
      { field: "b", order: "desc" },
    ]);
  });

  it("leaves unfinished rows out of the URL", () => {
    expect(formatFilters([{ field: "x", op: "eq" }])).toBe("[]");
  });
});
