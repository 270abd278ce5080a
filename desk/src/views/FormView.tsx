// /app/:doctype/new and /app/:doctype/:id — a form generated from the DocType's metadata: every
// field type, child tables, server errors on the fields, optimistic concurrency (409), submit /
// cancel, live refresh of the open document, version history.
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Link, useNavigate } from "react-router";
import {
  useCreate,
  useDelete,
  useInvalidate,
  useOne,
  useUpdate,
  type BaseRecord,
  type LiveEvent,
} from "@refinedev/core";
import { Alert, App, Button, Col, Form, Input, Row, Space, Tag, Typography } from "antd";
import { SaveOutlined, DeleteOutlined, ReloadOutlined } from "@ant-design/icons";
import { dataProvider, useDoctypeMeta, type ApiError, type Doc, type DocTypeMeta, type FieldMeta } from "../providers";
import { PageSpinner } from "../shell/DeskLayout";
import { ChildTable } from "./ChildTable";
import { mapServerErrors } from "./errors";
import { FieldItem } from "./fields";
import { formatValue } from "./format";
import { VersionsPanel } from "./Versions";
import { docToFormValues, formValuesToDoc, toControl } from "./wire";
import { capabilities, eventTouches, sameTimestamp } from "./docState";

const DOCSTATUS = ["Draft", "Submitted", "Cancelled"] as const;
const DOCSTATUS_COLOR = ["blue", "green", "red"] as const;
const INFO_FIELDS = ["name", "owner", "creation", "modified", "modified_by"];
const WIDE = new Set(["text", "json", "table"]);

// `any`: antd types setFieldsValue with RecursivePartial, which rejects `unknown` values
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Values = Record<string, any>;

function DocForm({ doctype, id, meta }: { doctype: string; id?: string; meta: DocTypeMeta }) {
  const isNew = !id;
  const navigate = useNavigate();
  const { message, modal } = App.useApp();
  const [form] = Form.useForm<Values>();
  const invalidate = useInvalidate();
  const { mutateAsync: create } = useCreate();
  const { mutateAsync: update } = useUpdate();
  const { mutateAsync: remove } = useDelete();

  const [loaded, setLoaded] = useState<Doc | null>(null);
  const loadedRef = useRef<Doc | null>(null);
  const dirtyRef = useRef(false);
  const busyRef = useRef(false);
  const pendingEvents = useRef<LiveEvent[]>([]);
  const [dirty, setDirtyState] = useState(false);
  const [busy, setBusyState] = useState<null | "save" | "submit" | "cancel" | "delete" | "reload">(null);
  const [formError, setFormError] = useState<string | null>(null);
  const [conflict, setConflict] = useState(false);
  const [liveUpdated, setLiveUpdated] = useState(false);
  const [goneElsewhere, setGoneElsewhere] = useState(false);

  const setDirty = (d: boolean) => {
    dirtyRef.current = d;
    setDirtyState(d);
  };
  const setBusy = (b: typeof busy) => {
    busyRef.current = b !== null;
    setBusyState(b);
  };

  const childFieldsOf = useCallback(
    (table: FieldMeta) => {
      const child = typeof table.options === "string" ? meta.child_doctypes?.[table.options] : undefined;
      return child?.fields ?? [];
    },
    [meta],
  );
  const childFieldsByTable = (name: string) => {
    const f = meta.fields.find((x) => x.name === name);
    return f ? childFieldsOf(f) : [];
  };

  const liveHandler = useRef<(e: LiveEvent) => void>(() => {});
  const { result: fetched, query } = useOne<BaseRecord>({
    resource: doctype,
    id,
    queryOptions: { enabled: !isNew, refetchOnWindowFocus: false },
    // "manual": the form decides what a change elsewhere means (refresh or conflict)
    liveMode: "manual",
    onLiveEvent: (e) => liveHandler.current(e),
  });

  const resetTo = useCallback(
    (doc: Doc) => {
      // reset first: setFieldsValue alone keeps the errors shown for the previous values
      form.resetFields();
      form.setFieldsValue(docToFormValues(meta.fields, doc, childFieldsOf));
      loadedRef.current = doc;
      setLoaded(doc);
      setDirty(false);
    },
    [form, meta, childFieldsOf],
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

  const reload = async () => {
    setBusy("reload");
    try {
      const r = await query.refetch();
      if (r.data?.data) resetTo(r.data.data as Doc);
      setConflict(false);
      setLiveUpdated(false);
      setFormError(null);
    } finally {
      setBusy(null);
    }
  };

  const handleLive = (e: LiveEvent) => {
    const cur = loadedRef.current;
    if (!cur) return;
    // "*": the stream lost events (reset); the document may or may not have changed
    const maybe = e.type === "*";
    if (!maybe && !eventTouches(e, cur)) return;
    if (busyRef.current) {
      pendingEvents.current.push(e); // judged once our own request has answered
      return;
    }
    if (e.type === "deleted" || e.payload?.topic === "doc.deleted") {
      setGoneElsewhere(true);
      return;
    }
    const p = e.payload ?? {};
    if (p.modified !== undefined && sameTimestamp(p.modified, cur.modified)) {
      if (p.docstatus === undefined || p.docstatus === cur.docstatus) return; // our own change echoed back
    }
    if (dirtyRef.current) {
      if (!maybe) setConflict(true);
      return;
    }
    void query.refetch().then((r) => {
      const doc = r.data?.data as Doc | undefined;
      if (!doc || dirtyRef.current) return;
      const changed = !sameTimestamp(doc.modified, cur.modified) || doc.docstatus !== cur.docstatus;
      resetTo(doc);
      if (changed || !maybe) setLiveUpdated(true);
    });
  };
  liveHandler.current = handleLive;

  const flushPending = () => {
    const evs = pendingEvents.current;
    pendingEvents.current = [];
    evs.forEach((e) => handleLive(e));
  };

  const docstatus = isNew ? 0 : Number(loaded?.docstatus ?? 0);
  const can = capabilities(meta, isNew, docstatus);
  const visibleFields = meta.fields.filter((f) => !f.hidden);
  const renderedNames = useMemo(() => new Set(visibleFields.map((f) => f.name)), [visibleFields]);
  const promptName = isNew && meta.naming_rule === "prompt";

  const showError = (e: unknown) => {
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
      const names = new Set(renderedNames);
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
  };

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
    const body = formValuesToDoc(sendable, values, childFieldsOf);
    if (promptName && typeof values.name === "string") body.name = values.name;
    setBusy("save");
    try {
      if (isNew) {
        const res = await create({ resource: doctype, values: body, successNotification: false, errorNotification: false });
        const saved = res.data as Doc;
        setDirty(false);
        message.success(`${meta.label} ${saved.name} created`);
        navigate(`/app/${encodeURIComponent(doctype)}/${encodeURIComponent(String(saved.id))}`, { replace: true });
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
      setLiveUpdated(false);
      message.success("Saved");
      return saved;
    } catch (e) {
      showError(e);
      return null;
    } finally {
      setBusy(null);
      flushPending();
    }
  };

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
      const doc = (res?.data ?? null) as Doc | null;
      if (doc && typeof doc === "object" && doc.id) resetTo(doc);
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
      flushPending();
    }
  };

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
          navigate(`/app/${encodeURIComponent(doctype)}`);
        } catch (e) {
          showError(e);
        } finally {
          setBusy(null);
        }
      },
    });
  };

  const initialValues = useMemo(() => {
    const v: Values = {};
    for (const f of meta.fields) {
      if (f.type === "table") v[f.name] = [];
      else if (f.default !== undefined && f.default !== null) v[f.name] = toControl(f.type, f.default);
    }
    return v;
  }, [meta]);

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

  const title = isNew ? `New ${meta.label}` : String(loaded?.name ?? id);
  const listPath = `/app/${encodeURIComponent(doctype)}`;
  const std = new Map(meta.standard_fields.map((f) => [f.name, f]));

  return (
    <div data-testid="form-view" data-doctype={doctype} data-docstatus={docstatus} data-dirty={dirty ? "1" : "0"}>
      <Space style={{ width: "100%", justifyContent: "space-between", marginBottom: 16 }} wrap>
        <Space align="center" wrap>
          <Link to={listPath}>{meta.label}</Link>
          <span>/</span>
          <Typography.Title level={3} style={{ margin: 0 }} data-testid="form-title">
            {title}
          </Typography.Title>
          {meta.is_submittable && (
            <Tag data-testid="docstatus" color={DOCSTATUS_COLOR[docstatus] ?? "default"}>
              {DOCSTATUS[docstatus] ?? `docstatus ${docstatus}`}
            </Tag>
          )}
          {dirty && <Tag color="orange">Not saved</Tag>}
        </Space>
        <Space wrap>
          {can.delete && (
            <Button data-testid="form-delete" danger icon={<DeleteOutlined />} onClick={confirmDelete} loading={busy === "delete"}>
              Delete
            </Button>
          )}
          {can.cancel && (
            <Button
              data-testid="form-cancel-doc"
              danger
              loading={busy === "cancel"}
              onClick={() =>
                modal.confirm({
                  title: `Cancel ${meta.label} ${loaded?.name}?`,
                  content: "A cancelled document can no longer be changed.",
                  okText: "Cancel document",
                  cancelText: "Keep",
                  okButtonProps: { danger: true, ...({ "data-testid": "form-cancel-confirm" } as object) },
                  onOk: () => transition("cancel"),
                })
              }
            >
              Cancel
            </Button>
          )}
          {can.submit && (
            <Button data-testid="form-submit" loading={busy === "submit"} onClick={() => void transition("submit")}>
              Submit
            </Button>
          )}
          {can.save && (
            <Button
              data-testid="form-save"
              type="primary"
              icon={<SaveOutlined />}
              loading={busy === "save"}
              disabled={busy !== null && busy !== "save"}
              onClick={() => void save()}
            >
              Save
            </Button>
          )}
        </Space>
      </Space>

      {conflict && (
        <Alert
          data-testid="form-conflict"
          type="warning"
          showIcon
          style={{ marginBottom: 16 }}
          message="This document was modified by someone else after you opened it."
          description="Your changes are kept in the form until you reload; reloading shows the current version and discards them."
          action={
            <Button data-testid="form-reload" icon={<ReloadOutlined />} loading={busy === "reload"} onClick={() => void reload()}>
              Reload
            </Button>
          }
        />
      )}
      {liveUpdated && !conflict && (
        <Alert
          data-testid="form-live-updated"
          type="info"
          showIcon
          closable
          onClose={() => setLiveUpdated(false)}
          style={{ marginBottom: 16 }}
          message="This document was changed elsewhere; the form shows the latest version."
        />
      )}
      {goneElsewhere && (
        <Alert
          data-testid="form-deleted-elsewhere"
          type="error"
          showIcon
          style={{ marginBottom: 16 }}
          message="This document was deleted by someone else."
        />
      )}
      {formError && (
        <Alert
          data-testid="form-error"
          type="error"
          showIcon
          closable
          onClose={() => setFormError(null)}
          style={{ marginBottom: 16, whiteSpace: "pre-line" }}
          message={formError}
        />
      )}

      <Form<Values>
        form={form}
        layout="vertical"
        initialValues={initialValues}
        onValuesChange={() => {
          if (!dirtyRef.current) setDirty(true);
          if (liveUpdated) setLiveUpdated(false);
        }}
        scrollToFirstError
      >
        <Row gutter={24}>
          {promptName && (
            <Col xs={24} md={12}>
              <FieldItem
                field={{ ...(std.get("name") as FieldMeta), read_only: false, required: true, label: std.get("name")?.label ?? "Name" }}
                disabled={false}
              />
            </Col>
          )}
          {visibleFields.map((f) => (
            <Col key={f.name} xs={24} md={WIDE.has(f.type) ? 24 : 12}>
              {f.type === "table" ? (
                <ChildTable field={f} childFields={childFieldsOf(f)} disabled={!can.editable(f)} />
              ) : (
                <FieldItem field={f} disabled={!can.editable(f)} />
              )}
            </Col>
          ))}
        </Row>
      </Form>

      {!isNew && loaded && (
        <Form layout="vertical" component="div" style={{ marginTop: 8 }}>
          <Typography.Title level={5}>Document</Typography.Title>
          <Row gutter={24}>
            {INFO_FIELDS.map((n) => std.get(n))
              .filter((f): f is FieldMeta => !!f && !f.hidden)
              .map((f) => (
                <Col key={f.name} xs={24} md={8}>
                  <div data-testid={`field-${f.name}`}>
                    <Form.Item label={f.label || f.name}>
                      <Input id={f.name} disabled value={formatValue(f, loaded[f.name])} />
                    </Form.Item>
                  </div>
                </Col>
              ))}
          </Row>
        </Form>
      )}

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

export default function FormView({ doctype, id }: { doctype: string; id?: string }) {
  const { data: meta, error, isLoading } = useDoctypeMeta(doctype);
  if (isLoading) return <PageSpinner />;
  if (error || !meta)
    return (
      <Alert data-testid="form-error" type="error" showIcon message={(error as Error | null)?.message || `Unknown DocType ${doctype}`} />
    );
  return <DocForm doctype={doctype} id={id} meta={meta} />;
}
