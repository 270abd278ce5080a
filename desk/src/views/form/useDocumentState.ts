// The document a form edits: the antd form, the loaded document (state for the render, a ref for
// the callbacks that outlive a render), whether it has unsaved edits, which request is running,
// the error shown above the fields, and the query that loads it. First loads and refetches reset
// the form only while the user has no unsaved edits. docs/reference/desk.md, "Forms".
import { useCallback, useEffect, useRef, useState } from "react";
import { useOne, type BaseRecord, type LiveEvent } from "@refinedev/core";
import { Form } from "antd";
import type { Doc, DocTypeMeta, FieldMeta } from "../../providers";
import { docToFormValues, toControl } from "../wire";
import { sameTimestamp } from "../docState";

// `any`: antd types setFieldsValue with RecursivePartial, which rejects `unknown` values
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Values = Record<string, any>;

/** The request the form is waiting for, if any. */
export type Busy = null | "save" | "submit" | "cancel" | "delete" | "reload";

/** The fields of a table field's child DocType. */
export function childFieldsOf(meta: DocTypeMeta, table: FieldMeta): FieldMeta[] {
  const child = typeof table.options === "string" ? meta.child_doctypes?.[table.options] : undefined;
  return child?.fields ?? [];
}

/** A new document's values: the fields' defaults, and an empty list per table. */
export function initialValuesOf(meta: DocTypeMeta): Values {
  const v: Values = {};
  for (const f of meta.fields) {
    if (f.type === "table") v[f.name] = [];
    else if (f.default !== undefined && f.default !== null) v[f.name] = toControl(f.type, f.default);
  }
  return v;
}

export function useDocumentState(doctype: string, id: string | undefined, meta: DocTypeMeta) {
  const isNew = !id;
  const [form] = Form.useForm<Values>();
  const [loaded, setLoaded] = useState<Doc | null>(null);
  const loadedRef = useRef<Doc | null>(null);
  const dirtyRef = useRef(false);
  const busyRef = useRef(false);
  const [dirty, setDirtyState] = useState(false);
  const [busy, setBusyState] = useState<Busy>(null);
  const [formError, setFormError] = useState<string | null>(null);
  // Where the query's live events go: useLiveConflict installs its handler here.
  const liveHandlerRef = useRef<(e: LiveEvent) => void>(() => {});

  const setDirty = useCallback((d: boolean) => {
    dirtyRef.current = d;
    setDirtyState(d);
  }, []);
  const setBusy = useCallback((b: Busy) => {
    busyRef.current = b !== null;
    setBusyState(b);
  }, []);
  const childFields = useCallback((table: FieldMeta) => childFieldsOf(meta, table), [meta]);

  const { result: fetched, query } = useOne<BaseRecord>({
    resource: doctype,
    id,
    queryOptions: { enabled: !isNew, refetchOnWindowFocus: false },
    // "manual": the form decides what a change elsewhere means (refresh or conflict)
    liveMode: "manual",
    onLiveEvent: (e) => liveHandlerRef.current(e),
  });

  const resetTo = useCallback(
    (doc: Doc) => {
      // reset first: setFieldsValue alone keeps the errors shown for the previous values
      form.resetFields();
      form.setFieldsValue(docToFormValues(meta.fields, doc, childFields));
      loadedRef.current = doc;
      setLoaded(doc);
      setDirty(false);
    },
    [form, meta, childFields, setDirty],
  );

  // First load and refetches: only while the user has no unsaved edits.
  useEffect(() => {
    if (!fetched) return;
    const doc = fetched as Doc;
    const cur = loadedRef.current;
    if (cur && dirtyRef.current) return;
    if (cur && cur.id === doc.id && sameTimestamp(cur.modified, doc.modified) && cur.docstatus === doc.docstatus) return;
    resetTo(doc);
  }, [fetched, resetTo]);

  return {
    isNew,
    form,
    query,
    loaded,
    loadedRef,
    dirty,
    dirtyRef,
    setDirty,
    busy,
    busyRef,
    setBusy,
    formError,
    setFormError,
    liveHandlerRef,
    childFields,
    resetTo,
  };
}

export type DocumentState = ReturnType<typeof useDocumentState>;
