// How a refused request shows on the form, read from the reply's structured details
// (docs/reference/http-api.md, "Errors"), never from the English of its message: a 409 with
// reason `stale` is the edit conflict; a duplicate name or unique value (`details.field`) goes on
// that field when the form shows it; validation errors go on their fields (the rest above them);
// anything else above the fields. docs/reference/desk.md, "Forms".
import type { FormInstance } from "antd";
import type { ApiError, DocTypeMeta } from "../../providers";
import { mapServerErrors } from "../errors";
import type { Values } from "./useDocumentState";

export interface ErrorTargets {
  form: FormInstance<Values>;
  meta: DocTypeMeta;
  /** the form asks for the new document's name */
  promptName: boolean;
  setConflict: (c: boolean) => void;
  setFormError: (message: string | null) => void;
}

/** The conflicts whose `details.field` names the field the user must change. */
const ON_FIELD = new Set(["duplicate_name", "duplicate_value"]);

export function showRequestError(e: unknown, { form, meta, promptName, setConflict, setFormError }: ErrorTargets): void {
  const err = e as Partial<ApiError> & { message?: string };
  const isConflict = err?.statusCode === 409 || err?.error === "Conflict";
  // the fields the form renders
  const names = new Set(meta.fields.filter((f) => !f.hidden).map((f) => f.name));
  if (promptName) names.add("name");
  if (isConflict) {
    // 409 also means "this name / unique value already exists"; only a stale `modified` is the
    // someone-else-changed-it conflict
    if (err.reason === "stale") {
      setConflict(true);
      return;
    }
    const field = err.conflictField;
    if (err.reason && ON_FIELD.has(err.reason) && field && names.has(field)) {
      form.setFields([{ name: field, errors: [err.conflictMessage ?? err.message ?? ""] }]);
      setFormError(null);
      return;
    }
    setFormError(err.message || "The request failed");
    return;
  }
  if (err?.statusCode === 400 || err?.error === "ValidationError") {
    const mapped = mapServerErrors(
      { message: err.message ?? "Invalid document", errors: err.errors, rowErrors: err.rowErrors },
      names,
      (t) => ((form.getFieldValue(t) as unknown[] | undefined) ?? []).length,
    );
    form.setFields(mapped.fields as Parameters<typeof form.setFields>[0]);
    setFormError(mapped.rest.length ? mapped.rest.join("\n") : null);
    return;
  }
  setFormError(err?.message || "The request failed");
}
