import { describe, expect, it } from "vitest";
import { formatNumber, formatValue } from "./format";
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

describe("formatNumber", () => {
  it("writes what Intl.NumberFormat('en-US') writes", () => {
    const values = [0, 1, -1, 0.5, -0.5, 1.005, 2.675, 0.125, -0.125, 999.9999, 1234.5678901, -1234567.891, 1e-7, -1e-7,
      123456789012.345, 1e20, 99999.995, 0.1 + 0.2, 42, -42.42, 1e21, NaN, Infinity, -0,
      -0.001, -0.0049, 0.0049, 9.995, 999999.9999999, 0.000123, 5e-7, 12345678.5, -99.5, 100, 1000, 1000000.05];
    for (const v of values) {
      for (const [min, max] of [[0, 0], [0, 6], [2, 2], [0, 2], [3, 3]]) {
        const want = new Intl.NumberFormat("en-US", { minimumFractionDigits: min, maximumFractionDigits: max }).format(v);
        expect(`${v} ${min}/${max}: ${formatNumber(v, min, max)}`).toBe(`${v} ${min}/${max}: ${want}`);
      }
    }
  });
});
