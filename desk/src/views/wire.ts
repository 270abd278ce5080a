// Conversions between the API's wire values and the values antd controls hold, per field type.
// The server sends datetimes as UTC "YYYY-MM-DD HH:MM:SS.ffffff" without a zone, dates as
// "YYYY-MM-DD" and times as "HH:MM:SS"; it accepts ISO strings with "Z" for datetimes.
import dayjs, { type Dayjs } from "dayjs";
import utc from "dayjs/plugin/utc";
import customParseFormat from "dayjs/plugin/customParseFormat";
import type { FieldMeta, FieldType } from "../providers";

dayjs.extend(utc);
dayjs.extend(customParseFormat);

export const DATE_FORMAT = "YYYY-MM-DD";
export const TIME_FORMAT = "HH:mm:ss";

/** A server datetime (UTC, with or without "T"/"Z") as a local Dayjs. */
export function parseUtcDatetime(s: string): Dayjs | null {
  const d = dayjs.utc(s.replace(" ", "T").replace(/Z$/, ""));
  return d.isValid() ? d.local() : null;
}

export function parseDate(s: string): Dayjs | null {
  const d = dayjs(s.slice(0, 10), DATE_FORMAT, true);
  return d.isValid() ? d : null;
}

export function parseTime(s: string): Dayjs | null {
  const d = dayjs(s.slice(0, 8), s.length >= 8 ? TIME_FORMAT : "HH:mm", true);
  return d.isValid() ? d : null;
}

/** Datetimes go out as UTC ISO strings ("2026-01-31T09:30:00.000Z"). */
export function datetimeToWire(d: Dayjs): string {
  return d.toDate().toISOString();
}

/** One field's wire value → the control's value. */
export function toControl(type: FieldType, v: unknown): unknown {
  if (v === null || v === undefined) return type === "check" ? false : undefined;
  switch (type) {
    case "date":
      return typeof v === "string" ? parseDate(v) : undefined;
    case "datetime":
      return typeof v === "string" ? parseUtcDatetime(v) : undefined;
    case "time":
      return typeof v === "string" ? parseTime(v) : undefined;
    case "json":
      return typeof v === "string" ? v : JSON.stringify(v, null, 2);
    case "check":
      return v === true || v === 1 || v === "1";
    case "password":
      return undefined; // write-only: never prefilled
    default:
      return v;
  }
}

/** One control's value → the wire value (null for "empty"). Throws SyntaxError on bad JSON. */
export function toWire(type: FieldType, v: unknown): unknown {
  if (v === undefined || v === null || (v === "" && type !== "data" && type !== "text")) {
    return type === "check" ? false : null;
  }
  switch (type) {
    case "date":
      return dayjs.isDayjs(v) ? v.format(DATE_FORMAT) : v;
    case "datetime":
      return dayjs.isDayjs(v) ? datetimeToWire(v) : v;
    case "time":
      return dayjs.isDayjs(v) ? v.format(TIME_FORMAT) : v;
    case "json":
      return typeof v === "string" ? (v.trim() === "" ? null : JSON.parse(v)) : v;
    case "check":
      return !!v;
    default:
      return v;
  }
}

type Row = Record<string, unknown>;

/** A document as form values: every field of the meta converted for its control, child rows too. */
export function docToFormValues(
  fields: FieldMeta[],
  doc: Row,
  childFields: (table: FieldMeta) => FieldMeta[],
): Row {
  const out: Row = {};
  for (const f of fields) {
    if (f.type === "table") {
      const rows = Array.isArray(doc[f.name]) ? (doc[f.name] as Row[]) : [];
      const cf = childFields(f);
      // keep the row's own keys (id, idx) so an update keeps the row's identity
      out[f.name] = rows.map((r) => ({ ...r, ...docToFormValues(cf, r, childFields) }));
    } else {
      out[f.name] = toControl(f.type, doc[f.name]);
    }
  }
  return out;
}

/** Form values → a request body, limited to the given fields (plus a child row's id). */
export function formValuesToDoc(
  fields: FieldMeta[],
  values: Row,
  childFields: (table: FieldMeta) => FieldMeta[],
): Row {
  const out: Row = {};
  for (const f of fields) {
    if (!(f.name in values)) continue;
    const v = values[f.name];
    if (f.type === "table") {
      const cf = childFields(f);
      out[f.name] = (Array.isArray(v) ? (v as Row[]) : []).map((r) => {
        const row = formValuesToDoc(cf, r ?? {}, childFields);
        if (r && typeof r.id === "string") row.id = r.id;
        return row;
      });
    } else if (f.type === "password") {
      // an empty password box means "unchanged", never "clear it"
      if (v !== undefined && v !== null && v !== "") out[f.name] = v;
    } else {
      out[f.name] = toWire(f.type, v);
    }
  }
  return out;
}
