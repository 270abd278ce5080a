import { describe, expect, it } from "vitest";
import { ApiError } from "./http";
import { parseValidationDetails } from "./errors";

describe("validation error parsing", () => {
  it("keys top-level field errors by field name", () => {
    const details = ["field 'customer' is required", "field 'status': 'Zzz' is not one of Draft, Paid"];
    const e = new ApiError(400, "ValidationError", "DocType 'Invoice': " + details.join("; "), details);
    expect(e.errors).toEqual({
      customer: ["field 'customer' is required"],
      status: ["field 'status': 'Zzz' is not one of Draft, Paid"],
    });
    expect(e.rowErrors).toBeUndefined();
    expect(e.statusCode).toBe(400);
    expect(e.error).toBe("ValidationError");
    expect(e).toBeInstanceOf(Error);
  });

  it("keys child row errors as table.row.field with 0-based rows", () => {
    const details = [
      "field 'items' row 2: field 'qty': 0 is less than the minimum 1",
      "field 'items' row 1: field 'item' is required",
      "field 'items' row 1: unknown field 'colour'",
      "field 'items' row 3: must be an object",
    ];
    const e = new ApiError(400, "ValidationError", "DocType 'Invoice': …", details);
    expect(e.errors).toEqual({
      "items.1.qty": ["field 'qty': 0 is less than the minimum 1"],
      "items.0.item": ["field 'item' is required"],
      "items.0.colour": ["unknown field 'colour'"],
      "items.2": ["must be an object"],
    });
    expect(e.rowErrors).toEqual({
      items: { 0: { item: ["field 'item' is required"], colour: ["unknown field 'colour'"] }, 1: { qty: ["field 'qty': 0 is less than the minimum 1"] } },
    });
  });

  it("reads the message when there are no details (unique value 409, hook errors)", () => {
    const e = new ApiError(409, "Conflict", "DocType 'Customer': field 'email': value \"a@b.c\" already exists");
    expect(e.errors).toEqual({ email: ["field 'email': value \"a@b.c\" already exists"] });
    const h = parseValidationDetails("DocType 'Invoice': validate: field 'due_date': before the posting date", null);
    expect(h.errors).toEqual({ due_date: ["field 'due_date': before the posting date"] });
  });

  it("leaves messages without a field out of errors", () => {
    const e = new ApiError(409, "Conflict", "Invoice 'INV-1' was modified by someone else at X (your copy is from Y); reload and try again");
    expect(e.errors).toEqual({});
    expect(parseValidationDetails("cannot submit Invoice 'INV-1': it is submitted", null).errors).toEqual({});
    expect(parseValidationDetails("x", { byte: 3 }).errors).toEqual({});
  });
});
