// What the form's buttons do: save (useSaveDocument), submit / cancel (POST
// /api/v1/<DocType>/<id>/<action>, submit saving unsaved edits first) and delete, each one with its
// busy state, its message, and its refusal shown on the form. docs/reference/desk.md, "Forms".
import { useNavigate } from "react-router";
import { useDelete, useInvalidate } from "@refinedev/core";
import { App } from "antd";
import { dataProvider, type Doc } from "../../providers";
import { listPath } from "../../routes";
import { useSaveDocument, type FormContext } from "./useSaveDocument";

export function useDocumentActions(ctx: FormContext) {
  const { doctype, meta, doc, live } = ctx;
  const navigate = useNavigate();
  const { message, modal } = App.useApp();
  const invalidate = useInvalidate();
  const { mutateAsync: remove } = useDelete();
  const { save, showError } = useSaveDocument(ctx);
  const { loadedRef, dirtyRef, resetTo, setBusy, setFormError, query } = doc;

  const transition = async (action: "submit" | "cancel") => {
    setFormError(null);
    if (action === "submit" && dirtyRef.current) {
      const saved = await save();
      if (!saved) return;
    }
    const cur = loadedRef.current;
    if (!cur) return;
    setBusy(action);
    try {
      const res = await dataProvider.custom!({
        url: `/api/v1/${encodeURIComponent(doctype)}/${encodeURIComponent(String(cur.id))}/${action}`,
        method: "post",
        payload: {},
      });
      const fresh = (res?.data ?? null) as Doc | null;
      if (fresh && typeof fresh === "object" && fresh.id) resetTo(fresh);
      else {
        const r = await query.refetch();
        if (r.data?.data) resetTo(r.data.data as Doc);
      }
      void invalidate({ resource: doctype, invalidates: ["list", "detail"] });
      message.success(action === "submit" ? "Submitted" : "Cancelled");
    } catch (e) {
      showError(e);
    } finally {
      setBusy(null);
      live.flushPending();
    }
  };

  const confirmCancel = () =>
    modal.confirm({
      title: `Cancel ${meta.label} ${doc.loaded?.name}?`,
      content: "A cancelled document can no longer be changed.",
      okText: "Cancel document",
      cancelText: "Keep",
      okButtonProps: { danger: true, ...({ "data-testid": "form-cancel-confirm" } as object) },
      onOk: () => transition("cancel"),
    });

  const confirmDelete = () => {
    const cur = loadedRef.current;
    if (!cur) return;
    modal.confirm({
      title: `Delete ${meta.label} ${cur.name}?`,
      content: "This cannot be undone.",
      okText: "Delete",
      okButtonProps: { danger: true, ...({ "data-testid": "form-delete-confirm" } as object) },
      onOk: async () => {
        setBusy("delete");
        try {
          await remove({ resource: doctype, id: cur.id, successNotification: false, errorNotification: false });
          message.success(`${cur.name} deleted`);
          navigate(listPath(doctype));
        } catch (e) {
          showError(e);
        } finally {
          setBusy(null);
        }
      },
    });
  };

  return { save, submit: () => transition("submit"), confirmCancel, confirmDelete };
}
