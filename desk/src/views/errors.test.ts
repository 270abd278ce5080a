import { describe, expect, it } from "vitest";
import { mapServerErrors } from "./errors";

const fields = new Set(["customer", "posting_date", "items"]);
const rows = (t: string) => (t === "items" ? 2 : 0);

describe("mapServerErrors", () => {
  it("puts field and child-row errors on the form's fields", () => {
    const m = mapServerErrors(
      {
        message: "DocType 'Invoice': ...",
        errors: {
          customer: ["Customer 'nope' does not exist"],
          posting_date: ["field 'posting_date' is required"],
          "items.1.qty": ["0 is less than the minimum 1"],
        },
        // the same row error again, as the providers also report it: placed once
        rowErrors: { items: { 1: { qty: ["0 is less than the minimum 1"] } } },
      },
      fields,
      rows,
    );
    expect(m.fields).toEqual([
      { name: ["customer"], errors: ["Customer 'nope' does not exist"] },
      { name: ["posting_date"], errors: ["field 'posting_date' is required"] },
      { name: ["items", 1, "qty"], errors: ["0 is less than the minimum 1"] },
    ]);
    expect(m.rest).toEqual([]);
  });

  it("returns what no rendered field can show as text", () => {
    const m = mapServerErrors(
      {
        message: "whole",
        errors: { secret_note: ["too long"], "items.5.qty": ["bad"] },
        rowErrors: { other: { 0: { x: ["gone"] } } },
      },
      fields,
      rows,
    );
    expect(m.fields).toEqual([]);
    expect(m.rest).toEqual(["secret_note: too long", "items row 6, qty: bad", "other row 1, x: gone"]);
  });

  it("an error of a row itself goes above the fields, with its row counted from 1", () => {
    const m = mapServerErrors({ message: "whole", errors: { "items.2": ["must be an object"] } }, fields, rows);
    expect(m).toEqual({ fields: [], rest: ["items row 3: must be an object"] });
  });

  it("falls back to the message when nothing names a field", () => {
    const m = mapServerErrors({ message: "DocType 'Invoice': validate: an invoice needs at least one item", errors: {} }, fields, rows);
    expect(m).toEqual({ fields: [], rest: ["DocType 'Invoice': validate: an invoice needs at least one item"] });
  });
});
