// Puts a failed save's server validation errors onto the form's fields (child rows too); what
// cannot be placed on a rendered field is returned as text for the form-level error box.
import type { ApiError } from "../providers";

export interface FieldErrorData {
  name: (string | number)[];
  errors: string[];
}

export interface MappedErrors {
  fields: FieldErrorData[];
  /** messages that belong to no rendered field */
  rest: string[];
}

type ErrorLike = Pick<ApiError, "message"> & Partial<Pick<ApiError, "errors" | "rowErrors">>;

/**
 * The messages are the server's texts for their place (docs/reference/http-api.md, "Errors"):
 * shown as they are on a field, after their place in the form-level text.
 * @param err        errors keyed "field", "table.<row>.child" or "table.<row>" (rows from 0)
 * @param fieldNames the field names rendered by the form
 * @param rowCount   rows currently in each child table, by table field name
 */
export function mapServerErrors(
  err: ErrorLike,
  fieldNames: ReadonlySet<string>,
  rowCount: (table: string) => number,
): MappedErrors {
  const fields: FieldErrorData[] = [];
  const rest: string[] = [];
  const seen = new Set<string>();
  const place = (path: (string | number)[], msgs: string[]) => {
    const key = path.join(".");
    if (!msgs?.length || seen.has(key)) return;
    seen.add(key);
    const [head, row, child] = path;
    const onField = typeof head === "string" && fieldNames.has(head);
    if (path.length === 1 && onField) {
      fields.push({ name: path, errors: msgs });
    } else if (
      path.length === 3 &&
      onField &&
      typeof row === "number" &&
      row >= 0 &&
      row < rowCount(head) &&
      typeof child === "string"
    ) {
      fields.push({ name: path, errors: msgs });
    } else if (path.length === 3 && typeof row === "number") {
      rest.push(...msgs.map((m) => `${String(head)} row ${row + 1}, ${String(child)}: ${m}`));
    } else if (path.length === 2 && typeof row === "number") {
      // the row itself is at fault (bad_row): no field of it can show the message
      rest.push(...msgs.map((m) => `${String(head)} row ${row + 1}: ${m}`));
    } else {
      rest.push(...msgs.map((m) => `${key}: ${m}`));
    }
  };
  // `errors` is keyed by dotted paths ("items.0.qty" for a child row, rows from 0)
  for (const [key, msgs] of Object.entries(err.errors ?? {})) {
    place(
      key.split(".").map((p) => (/^\d+$/.test(p) ? Number(p) : p)),
      msgs,
    );
  }
  for (const [table, rows] of Object.entries(err.rowErrors ?? {}))
    for (const [idx, byField] of Object.entries(rows ?? {}))
      for (const [child, msgs] of Object.entries(byField ?? {})) place([table, Number(idx), child], msgs);
  if (fields.length === 0 && rest.length === 0) rest.push(err.message);
  return { fields, rest };
}
