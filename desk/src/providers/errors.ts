// Turns the server's validation messages into per-field errors a form can show.
// The formats come from core/src/document_service.cpp and core/src/values.cpp:
//   details: ["field 'customer' is required",
//             "field 'items' row 2: field 'qty': 0 is less than the minimum 1",
//             "field 'items' row 1: unknown field 'colour'", "unknown field 'x'",
//             "field 'status': 'Zzz' is not one of Draft, Paid"]
//   message: "DocType 'Invoice': <details joined by '; '>" and for hooks
//            "DocType 'Invoice': validate: <the hook's message>", for unique values (409)
//            "DocType 'Customer': field 'email': value \"a@b\" already exists".
// Rows are numbered from 1 by the server and from 0 here (antd Form.List indexes).

/** table field → 0-based row → child field → messages */
export type RowErrors = Record<string, Record<number, Record<string, string[]>>>;

export interface ParsedErrors {
  errors: Record<string, string[]>;
  rowErrors: RowErrors;
}

const ROW_PREFIX = /^field '([^']+)' row (\d+): /;
const FIELD = /^(?:unknown )?field '([^']+)'/;
const DOCTYPE_PREFIX = /^DocType '[^']*': /;
// A hook's name before its message ("validate: ...", "before_save: ...").
const HOOK_PREFIX = /^[a-z_]+: /;

/** One message → its field path (["items", 0, "qty"]) and the text to show; null if no field. */
export function parseOne(text: string): { path: Array<string | number>; message: string } | null {
  const path: Array<string | number> = [];
  let rest = text;
  for (let m = ROW_PREFIX.exec(rest); m; m = ROW_PREFIX.exec(rest)) {
    path.push(m[1], Number(m[2]) - 1);
    rest = rest.slice(m[0].length);
  }
  const f = FIELD.exec(rest);
  if (f) path.push(f[1]);
  if (!path.length) return null;
  return { path, message: rest };
}

function add(out: ParsedErrors, path: Array<string | number>, message: string): void {
  const key = path.join(".");
  (out.errors[key] ??= []).push(message);
  // Only a plain "table.row.field" path (no deeper nesting) goes into rowErrors.
  if (path.length === 3 && typeof path[1] === "number") {
    const [table, row, field] = path as [string, number, string];
    const rows = (out.rowErrors[table] ??= {});
    ((rows[row] ??= {})[field] ??= []).push(message);
  }
}

/** Splits a whole error message into its parts (after the DocType and hook prefixes). */
function messageParts(message: string): string[] {
  let rest = message.replace(DOCTYPE_PREFIX, "");
  if (!FIELD.test(rest) && !ROW_PREFIX.test(rest)) rest = rest.replace(HOOK_PREFIX, "");
  return rest.split("; ");
}

export function parseValidationDetails(message: string, details: unknown): ParsedErrors {
  const out: ParsedErrors = { errors: {}, rowErrors: {} };
  const items =
    Array.isArray(details) && details.length && details.every((d) => typeof d === "string")
      ? (details as string[])
      : messageParts(message);
  for (const item of items) {
    const parsed = parseOne(item);
    if (parsed) add(out, parsed.path, parsed.message);
  }
  return out;
}
