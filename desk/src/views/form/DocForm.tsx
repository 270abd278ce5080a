// A document's form, put together: its state (useDocumentState), the live edit-conflict tracking
// (useLiveConflict), the buttons' actions (useDocumentActions), the toolbar, the notices, the
// fields, the read-only standard fields and the version history. docs/reference/desk.md, "Forms".
import { useMemo } from "react";
import { Alert, Form } from "antd";
import type { DocTypeMeta } from "../../providers";
import { PageSpinner } from "../../shell/DeskLayout";
import { capabilities } from "../docState";
import { VersionsPanel } from "../Versions";
import { DocumentInfo, FieldGrid } from "./FormFields";
import { FormAlerts } from "./FormAlerts";
import { FormToolbar } from "./FormToolbar";
import { useDocumentActions } from "./useDocumentActions";
import { childFieldsOf, initialValuesOf, useDocumentState, type Values } from "./useDocumentState";
import { useLiveConflict } from "./useLiveConflict";

export function DocForm({ doctype, id, meta }: { doctype: string; id?: string; meta: DocTypeMeta }) {
  const doc = useDocumentState(doctype, id, meta);
  const live = useLiveConflict(doc);
  const { isNew, form, query, loaded, dirty, dirtyRef, setDirty, busy } = doc;
  const docstatus = isNew ? 0 : Number(loaded?.docstatus ?? 0);
  const can = capabilities(meta, isNew, docstatus);
  const promptName = isNew && meta.naming_rule === "prompt";
  const actions = useDocumentActions({ doctype, meta, doc, live, can, promptName });
  const initialValues = useMemo(() => initialValuesOf(meta), [meta]);

  if (!isNew && query.isLoading) return <PageSpinner />;
  if (!isNew && query.error && !loaded) {
    const err = query.error as { statusCode?: number; message?: string };
    return (
      <Alert
        data-testid="form-error"
        type="error"
        showIcon
        message={err.statusCode === 404 ? `${meta.label} ${id} was not found` : err.message || "Could not load the document"}
      />
    );
  }

  const childFieldsByTable = (name: string) => {
    const f = meta.fields.find((x) => x.name === name);
    return f ? childFieldsOf(meta, f) : [];
  };

  return (
    <div data-testid="form-view" data-doctype={doctype} data-docstatus={docstatus} data-dirty={dirty ? "1" : "0"}>
      <FormToolbar
        doctype={doctype}
        meta={meta}
        title={isNew ? `New ${meta.label}` : String(loaded?.name ?? id)}
        docstatus={docstatus}
        dirty={dirty}
        can={can}
        busy={busy}
        actions={actions}
      />
      <FormAlerts
        conflict={live.conflict}
        liveUpdated={live.liveUpdated}
        goneElsewhere={live.goneElsewhere}
        formError={doc.formError}
        reloading={busy === "reload"}
        onReload={() => void live.reload()}
        onCloseLiveUpdated={() => live.setLiveUpdated(false)}
        onCloseError={() => doc.setFormError(null)}
      />
      <Form<Values>
        form={form}
        layout="vertical"
        initialValues={initialValues}
        onValuesChange={() => {
          if (!dirtyRef.current) setDirty(true);
          if (live.liveUpdated) live.setLiveUpdated(false);
        }}
        scrollToFirstError
      >
        <FieldGrid meta={meta} promptName={promptName} can={can} childFields={doc.childFields} />
      </Form>
      {!isNew && loaded && <DocumentInfo meta={meta} doc={loaded} />}
      {!isNew && loaded && meta.track_changes && (
        <VersionsPanel
          doctype={doctype}
          id={String(loaded.id)}
          modified={loaded.modified}
          fields={meta.fields}
          childFields={childFieldsByTable}
        />
      )}
    </div>
  );
}
