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
          posting_date: ["is required"],
          "items.1.qty": ["field 'items' row 2: field 'qty': 0 is less than the minimum 1"],
        },
        // the same row error again, as the providers also report it: placed once
        rowErrors: { items: { 1: { qty: ["0 is less than the minimum 1"] } } },
      },
      fields,
      rows,
    );
    expect(m.fields).toEqual([
      { name: ["customer"], errors: ["Customer 'nope' does not exist"] },
      { name: ["posting_date"], errors: ["is required"] },
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

  it("drops the field prefix a message may still carry", () => {
    const m = mapServerErrors({ message: "", errors: { customer: ["field 'customer': Customer 'x' does not exist"] } }, fields, rows);
    expect(m.fields).toEqual([{ name: ["customer"], errors: ["Customer 'x' does not exist"] }]);
  });

  it("falls back to the message when nothing names a field", () => {
    const m = mapServerErrors({ message: "validate: an invoice needs at least one item", errors: {} }, fields, rows);
    expect(m).toEqual({ fields: [], rest: ["validate: an invoice needs at least one item"] });
  });
});
