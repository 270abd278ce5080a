// How a refused request shows on the form: a stale `modified` is the edit conflict, a duplicate
// prompted name goes on the name field, validation errors go on their fields (the rest above
// them), anything else above the fields. docs/reference/desk.md, "Forms".
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

export function showRequestError(e: unknown, { form, meta, promptName, setConflict, setFormError }: ErrorTargets): void {
  const err = e as Partial<ApiError> & { message?: string };
  const isConflict = err?.statusCode === 409 || err?.error === "Conflict";
  // 409 also means "a unique value / this name already exists"; only a stale `modified` is
  // the someone-else-changed-it conflict
  if (isConflict && /modified by someone else/i.test(err?.message ?? "")) {
    setConflict(true);
    return;
  }
  if (isConflict && promptName && /document named .* already exists/i.test(err?.message ?? "")) {
    form.setFields([{ name: "name", errors: [String(err.message).replace(/^DocType '[^']*': /, "")] }]);
    return;
  }
  if (err?.statusCode === 400 || isConflict || err?.error === "ValidationError") {
    // the fields the form renders
    const names = new Set(meta.fields.filter((f) => !f.hidden).map((f) => f.name));
    if (promptName) names.add("name");
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
