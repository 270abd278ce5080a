import { describe, expect, it } from "vitest";
import { formatValue } from "./format";
import { parseUtcDatetime } from "./wire";

describe("formatValue", () => {
  it("shows check as a tick or nothing", () => {
    expect(formatValue({ type: "check" }, true)).toBe("✓");
    expect(formatValue({ type: "check" }, 1)).toBe("✓");
    expect(formatValue({ type: "check" }, false)).toBe("");
  });

  it("formats numbers with the field's precision", () => {
    expect(formatValue({ type: "decimal", precision: 2 }, 1200.5)).toBe("1,200.50");
    expect(formatValue({ type: "decimal" }, 3)).toBe("3.00");
    expect(formatValue({ type: "float", precision: 3 }, 0.12345)).toBe("0.123");
    expect(formatValue({ type: "int" }, 25000)).toBe("25,000");
  });

  it("shows dates as stored and UTC datetimes in local time", () => {
    expect(formatValue({ type: "date" }, "2026-05-06")).toBe("2026-05-06");
    const local = parseUtcDatetime("2026-05-06 13:45:00.000000")!;
    expect(local.toDate().toISOString()).toBe("2026-05-06T13:45:00.000Z");
    expect(formatValue({ type: "datetime" }, "2026-05-06 13:45:00.000000")).toBe(local.format("YYYY-MM-DD HH:mm"));
    expect(formatValue({ type: "time" }, "08:30:15")).toBe("08:30:15");
  });

  it("shows empty values as nothing and other types as text", () => {
    expect(formatValue({ type: "data" }, null)).toBe("");
    expect(formatValue({ type: "select" }, "Active")).toBe("Active");
    expect(formatValue({ type: "link" }, "CUST-00001")).toBe("CUST-00001");
    expect(formatValue({ type: "json" }, { a: 1 })).toBe('{"a":1}');
    expect(formatValue({ type: "table" }, [{}, {}])).toBe("2 rows");
  });
});
