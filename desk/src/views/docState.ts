// Pure rules of the form view: what the user may do with a document in its state, and how a
// live event relates to the open document.
import type { LiveEvent } from "@refinedev/core";
import type { Doc, DocTypeMeta, FieldMeta } from "../providers";

/** Timestamps compared by their digits, so "2026-01-01 10:00:00.000000" equals "2026-01-01T10:00:00Z". */
export function sameTimestamp(a: unknown, b: unknown): boolean {
  if (typeof a !== "string" || typeof b !== "string") return false;
  const da = a.replace(/\D/g, "").replace(/0+$/, "");
  const db = b.replace(/\D/g, "").replace(/0+$/, "");
  return da === db;
}

/** Does a live event concern this document? */
export function eventTouches(e: LiveEvent, doc: Pick<Doc, "id" | "name">): boolean {
  const p = e.payload ?? {};
  const keys = new Set([String(doc.id), String(doc.name)]);
  if (Array.isArray(p.ids) && p.ids.some((x) => keys.has(String(x)))) return true;
  return (p.id !== undefined && keys.has(String(p.id))) || (p.name !== undefined && keys.has(String(p.name)));
}

export interface Capabilities {
  save: boolean;
  submit: boolean;
  cancel: boolean;
  delete: boolean;
  /** whether a field's control is editable */
  editable: (f: FieldMeta) => boolean;
}

/** What the user may do with the document in its current state (meta.permissions are the user's). */
export function capabilities(meta: DocTypeMeta, isNew: boolean, docstatus: number): Capabilities {
  const p = meta.permissions ?? {};
  const submittable = meta.is_submittable;
  const mayWrite = isNew ? !!p.create : !!p.write;
  const editable = (f: FieldMeta) => {
    if (f.read_only || !mayWrite) return false;
    if (docstatus === 0) return true;
    return docstatus === 1 && f.allow_on_submit; // submitted: only allow_on_submit; cancelled: nothing
  };
  const anyOnSubmit = meta.fields.some((f) => f.allow_on_submit && !f.read_only && !f.hidden);
  return {
    save: mayWrite && (docstatus === 0 || (docstatus === 1 && anyOnSubmit)),
    submit: submittable && !isNew && docstatus === 0 && !!p.submit,
    cancel: submittable && !isNew && docstatus === 1 && !!p.cancel,
    delete: !isNew && !!p.delete && docstatus !== 1,
    editable,
  };
}
