import { describe, expect, it } from "vitest";
import { ApiError } from "./http";
import { conflictFrom, fieldErrorsFrom, type FieldErrorDetail } from "./errors";

// The details as the server answers them (docs/reference/http-api.md, "Errors").
const at = (field: string | null, row: number | null, child: string | null, code: string, message: string): FieldErrorDetail => ({
  field,
  row,
  child,
  code,
  message,
});

describe("field errors from details", () => {
  it("keys top-level field errors by field name", () => {
    const details = [
      at("customer", null, null, "required", "field 'customer' is required"),
      at("status", null, null, "invalid", "'Zzz' is not one of Draft, Paid"),
      at("ghost", null, null, "unknown_field", "unknown field 'ghost'"),
    ];
    const e = new ApiError(400, "ValidationError", "DocType 'Invoice': whatever the English says", details);
    expect(e.errors).toEqual({
      customer: ["field 'customer' is required"],
      status: ["'Zzz' is not one of Draft, Paid"],
      ghost: ["unknown field 'ghost'"],
    });
    expect(e.rowErrors).toBeUndefined();
    expect(e.reason).toBeUndefined();
    expect(e.statusCode).toBe(400);
    expect(e.error).toBe("ValidationError");
    expect(e.details).toBe(details);
    expect(e).toBeInstanceOf(Error);
  });

  it("a child row's error lands on table.<row-1>.child, and in rowErrors", () => {
    const details = [
      at("items", 2, "qty", "below_minimum", "0 is less than the minimum 1"),
      at("items", 1, "item", "required", "field 'item' is required"),
      at("items", 1, "colour", "unknown_field", "unknown field 'colour'"),
    ];
    const e = new ApiError(400, "ValidationError", "DocType 'Invoice': …", details);
    expect(e.errors).toEqual({
      "items.1.qty": ["0 is less than the minimum 1"],
      "items.0.item": ["field 'item' is required"],
      "items.0.colour": ["unknown field 'colour'"],
    });
    expect(e.rowErrors).toEqual({
      items: { 0: { item: ["field 'item' is required"], colour: ["unknown field 'colour'"] }, 1: { qty: ["0 is less than the minimum 1"] } },
    });
  });

  it("an error of the row itself (bad_row) goes under table.<row-1>, not into rowErrors", () => {
    const r = fieldErrorsFrom([at("items", 3, null, "bad_row", "must be an object"), at("items", 3, null, "bad_row", "id must be a UUID")]);
    expect(r).toEqual({ errors: { "items.2": ["must be an object", "id must be a UUID"] }, rowErrors: {} });
  });

  it("a hook's field error is a field error like any other", () => {
    const details = [at("items", null, null, "hook", "an invoice needs at least one item")];
    const e = new ApiError(400, "ValidationError", "DocType 'Invoice': validate: an invoice needs at least one item", details);
    expect(e.errors).toEqual({ items: ["an invoice needs at least one item"] });
  });

  it("never reads the message: no details, other details or malformed items give no field errors", () => {
    const hook = new ApiError(400, "ValidationError", "DocType 'Invoice': validate: field 'due_date': before the posting date", null);
    expect(hook.errors).toEqual({});
    expect(fieldErrorsFrom(["field 'customer' is required"]).errors).toEqual({}); // the old string form
    expect(fieldErrorsFrom({ doctype: "Invoice", action: "write" }).errors).toEqual({});
    expect(fieldErrorsFrom({ retry_after: 3 }).errors).toEqual({});
    expect(fieldErrorsFrom([{ field: "x" }, { field: "y", row: 0, child: null, message: "m" }, at(null, null, null, "invalid", "m")])).toEqual({
      errors: {},
      rowErrors: {},
    });
  });
});

describe("conflict details", () => {
  it("exposes reason and field of a 409", () => {
    const dup = new ApiError(409, "Conflict", "DocType 'Customer': field 'email': value \"a@b.c\" already exists", {
      reason: "duplicate_value",
      field: "email",
      message: 'value "a@b.c" already exists',
    });
    expect(dup).toMatchObject({
      reason: "duplicate_value",
      conflictField: "email",
      conflictMessage: 'value "a@b.c" already exists',
      errors: {},
    });
    const stale = new ApiError(409, "Conflict", "Invoice 'INV-1' was modified by someone else at X (your copy is from Y); reload and try again", {
      reason: "stale",
      modified: "X",
    });
    expect(stale.reason).toBe("stale");
    expect(stale.conflictField).toBeUndefined();
    const named = new ApiError(409, "Conflict", "DocType 'Invoice': a document named 'INV-1' already exists", { reason: "duplicate_name", field: null });
    expect(named.reason).toBe("duplicate_name");
    expect(named.conflictField).toBeUndefined();
    const row = new ApiError(409, "Conflict", "…", { reason: "duplicate_row_id", field: "items", row: 2 });
    expect(row).toMatchObject({ reason: "duplicate_row_id", conflictField: "items", conflictRow: 2 });
  });

  it("reads no reason from other replies", () => {
    expect(new ApiError(403, "PermissionDenied", "no", { doctype: "Invoice", action: "write" }).reason).toBeUndefined();
    expect(new ApiError(409, "Conflict", "job is running", null).reason).toBeUndefined();
    expect(conflictFrom({ reason: 3 })).toBeNull();
    expect(conflictFrom([{ reason: "stale" }])).toBeNull();
    expect(conflictFrom({ reason: "job_state" })).toEqual({ reason: "job_state" });
  });
});
