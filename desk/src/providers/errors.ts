// Reads the structured `details` of the API's error replies (docs/reference/http-api.md,
// "Errors"), so that nothing in the Desk parses the English of `message`:
//   400, a document that fails its checks: a list of field errors
//     [{"field": "customer", "row": null, "child": null, "code": "required", "message": "field 'customer' is required"},
//      {"field": "items", "row": 2, "child": "qty", "code": "below_minimum", "message": "0 is less than the minimum 1"}]
//     (`row` counts from 1, `child` is null when the row itself is at fault; `message` is the
//     text to show at that place). A hook's error without a field has `details: null`.
//   409, a conflict: {"reason": "stale" | "duplicate_name" | "duplicate_value" | ..., "field"?, "row"?}
// Rows are numbered from 1 by the server and from 0 here (antd Form.List indexes).

/** table field → 0-based row → child field → messages */
export type RowErrors = Record<string, Record<number, Record<string, string[]>>>;

export interface ParsedErrors {
  /** "field", "table.<row>.child" (a child row's field) or "table.<row>" (the row itself), rows from 0 */
  errors: Record<string, string[]>;
  rowErrors: RowErrors;
}

/** The `code` of a field error (docs/reference/http-api.md, "Errors"). */
export type FieldErrorCode =
  | "required"
  | "unknown_field"
  | "invalid"
  | "too_long"
  | "too_short"
  | "pattern"
  | "below_minimum"
  | "above_maximum"
  | "out_of_range"
  | "link_not_found"
  | "not_editable"
  | "bad_row"
  | "hook";

/** One item of a 400's `details`. */
export interface FieldErrorDetail {
  /** the document's field; for an error in a child row, the table field */
  field: string | null;
  /** the child row, from 1; null outside a row */
  row: number | null;
  /** the child row's field; null when the row itself is at fault or outside a row */
  child: string | null;
  code: FieldErrorCode | string;
  /** the text to show at that place (without its location) */
  message: string;
}

/** The `reason` of a 409's `details`. */
export type ConflictReason =
  | "stale"
  | "duplicate_name"
  | "duplicate_id"
  | "duplicate_value"
  | "duplicate_row_id"
  | "job_state";

/** A 409's `details`. */
export interface ConflictDetail {
  reason: ConflictReason | string;
  /** duplicate_name (null unless the document is named by a field, "name" for prompt naming),
   * duplicate_value, duplicate_row_id, duplicate_id */
  field?: string | null;
  /** duplicate_row_id: the row, from 1 */
  row?: number | null;
  /** stale: the stored `modified`, when the client sent one */
  modified?: string;
  /** duplicate_name, duplicate_value: the text to show at `field` */
  message?: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isNameOrNull = (v: unknown) => v === null || v === undefined || typeof v === "string";

export function isFieldErrorDetail(d: unknown): d is FieldErrorDetail {
  return (
    isObject(d) &&
    isNameOrNull(d.field) &&
    isNameOrNull(d.child) &&
    (d.row === null || d.row === undefined || (typeof d.row === "number" && Number.isInteger(d.row) && d.row >= 1)) &&
    typeof d.message === "string"
  );
}

function add(out: ParsedErrors, key: string, message: string): void {
  (out.errors[key] ??= []).push(message);
}

/**
 * A 400's field errors → messages by field path (see ParsedErrors) and the child rows' errors
 * by table, row and field. Anything that is not a list of field errors gives no errors.
 */
export function fieldErrorsFrom(details: unknown): ParsedErrors {
  const out: ParsedErrors = { errors: {}, rowErrors: {} };
  if (!Array.isArray(details)) return out;
  for (const d of details) {
    if (!isFieldErrorDetail(d) || !d.field) continue;
    if (typeof d.row !== "number") {
      add(out, d.field, d.message);
      continue;
    }
    const row = d.row - 1;
    if (!d.child) {
      // the row itself (bad_row): no field of it shows the message
      add(out, `${d.field}.${row}`, d.message);
      continue;
    }
    add(out, `${d.field}.${row}.${d.child}`, d.message);
    const rows = (out.rowErrors[d.field] ??= {});
    ((rows[row] ??= {})[d.child] ??= []).push(d.message);
  }
  return out;
}

/** A 409's details, or null when they are not the conflict shape. */
export function conflictFrom(details: unknown): ConflictDetail | null {
  if (!isObject(details) || typeof details.reason !== "string") return null;
  const out: ConflictDetail = { reason: details.reason };
  if (typeof details.field === "string" || details.field === null) out.field = details.field;
  if (typeof details.row === "number" || details.row === null) out.row = details.row;
  if (typeof details.modified === "string") out.modified = details.modified;
  if (typeof details.message === "string") out.message = details.message;
  return out;
}
