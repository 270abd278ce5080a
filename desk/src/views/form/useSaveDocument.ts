// Saving the form: validates it, then creates the document (and opens it at its own URL) or updates
// it with the loaded `modified` (optimistic concurrency: a stale one is the edit conflict); a
// refusal is shown on the form (requestErrors.ts). docs/reference/desk.md, "Forms".
import { useNavigate } from "react-router";
import { useCreate, useUpdate } from "@refinedev/core";
import { App } from "antd";
import type { Doc, DocTypeMeta } from "../../providers";
import { docPath } from "../../routes";
import type { Capabilities } from "../docState";
import { formValuesToDoc } from "../wire";
import { showRequestError } from "./requestErrors";
import type { DocumentState, Values } from "./useDocumentState";
import type { LiveConflict } from "./useLiveConflict";

export interface FormContext {
  doctype: string;
  meta: DocTypeMeta;
  doc: DocumentState;
  live: LiveConflict;
  can: Capabilities;
  /** the form asks for the new document's name */
  promptName: boolean;
}

export function useSaveDocument({ doctype, meta, doc, live, can, promptName }: FormContext) {
  const navigate = useNavigate();
  const { message } = App.useApp();
  const { mutateAsync: create } = useCreate();
  const { mutateAsync: update } = useUpdate();
  const { form, isNew, loadedRef, resetTo, setBusy, setDirty, setFormError } = doc;
  /** Shows a refused request on the form. */
  const showError = (e: unknown) =>
    showRequestError(e, { form, meta, promptName, setConflict: live.setConflict, setFormError });

  /** Validates and saves; resolves to the saved document, or null when nothing was saved. */
  const save = async (): Promise<Doc | null> => {
    setFormError(null);
    try {
      await form.validateFields({ recursive: true });
    } catch {
      return null; // client-side errors are shown on the fields
    }
    const values = form.getFieldsValue(true) as Values;
    const sendable = meta.fields.filter((f) => !f.hidden && can.editable(f));
    const body = formValuesToDoc(sendable, values, doc.childFields);
    if (promptName && typeof values.name === "string") body.name = values.name;
    setBusy("save");
    try {
      if (isNew) {
        const res = await create({ resource: doctype, values: body, successNotification: false, errorNotification: false });
        const saved = res.data as Doc;
        setDirty(false);
        message.success(`${meta.label} ${saved.name} created`);
        navigate(docPath(doctype, String(saved.id)), { replace: true });
        return saved;
      }
      const cur = loadedRef.current!;
      const res = await update({
        resource: doctype,
        id: cur.id,
        values: { ...body, modified: cur.modified },
        successNotification: false,
        errorNotification: false,
      });
      const saved = res.data as Doc;
      resetTo(saved);
      live.setLiveUpdated(false);
      message.success("Saved");
      return saved;
    } catch (e) {
      showError(e);
      return null;
    } finally {
      setBusy(null);
      live.flushPending();
    }
  };

  return { save, showError };
}
