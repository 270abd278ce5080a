import { describe, expect, it } from "vitest";
import dayjs from "dayjs";
import { fieldMeta } from "./fieldMeta.testutil";
import { docToFormValues, formValuesToDoc, toControl, toWire } from "./wire";

const f = fieldMeta;

describe("wire values", () => {
  it("sends dates as YYYY-MM-DD, times as HH:mm:ss and datetimes as UTC ISO", () => {
    expect(toWire("date", dayjs("2026-05-06"))).toBe("2026-05-06");
    expect(toWire("time", dayjs("2026-01-01T08:30:15"))).toBe("08:30:15");
    const local = dayjs(new Date(Date.UTC(2026, 4, 6, 13, 45, 0)));
    expect(toWire("datetime", local)).toBe("2026-05-06T13:45:00.000Z");
  });

  it("reads the server's UTC datetimes back to the same instant", () => {
    const d = toControl("datetime", "2026-05-06 13:45:00.000000") as dayjs.Dayjs;
    expect(d.toDate().toISOString()).toBe("2026-05-06T13:45:00.000Z");
    expect((toControl("time", "08:30:15") as dayjs.Dayjs).format("HH:mm:ss")).toBe("08:30:15");
  });

  it("parses JSON text and rejects bad JSON", () => {
    expect(toWire("json", '{"a":[1,2]}')).toEqual({ a: [1, 2] });
    expect(toWire("json", "  ")).toBeNull();
    expect(() => toWire("json", "{bad")).toThrow(SyntaxError);
    expect(toControl("json", { a: 1 })).toBe('{\n  "a": 1\n}');
  });

  it("never prefills passwords and never sends an empty one", () => {
    const fields = [f("secret", "password"), f("title", "data")];
    expect(docToFormValues(fields, { secret: "x", title: "t" }, () => [])).toEqual({ secret: undefined, title: "t" });
    expect(formValuesToDoc(fields, { secret: "", title: "t" }, () => [])).toEqual({ title: "t" });
    expect(formValuesToDoc(fields, { secret: "s3", title: "t" }, () => [])).toEqual({ secret: "s3", title: "t" });
  });

  it("keeps child rows' ids and converts their values", () => {
    const items = f("items", "table", { options: "Row" });
    const child = [f("qty", "int"), f("day", "date"), f("ok", "check")];
    const doc = { items: [{ id: "r1", idx: 1, qty: 2, day: "2026-01-02", ok: null }] };
    const values = docToFormValues([items], doc, () => child);
    const row = (values.items as Record<string, unknown>[])[0]!;
    expect(row.id).toBe("r1");
    expect(dayjs.isDayjs(row.day)).toBe(true);
    expect(row.ok).toBe(false);
    expect(formValuesToDoc([items], values, () => child)).toEqual({
      items: [{ id: "r1", qty: 2, day: "2026-01-02", ok: false }],
    });
  });

  it("sends cleared values as null and check as a boolean", () => {
    expect(toWire("int", undefined)).toBeNull();
    expect(toWire("link", null)).toBeNull();
    expect(toWire("select", "")).toBeNull();
    expect(toWire("data", "")).toBe("");
    expect(toWire("check", undefined)).toBe(false);
  });
});
