// The document form end to end in jsdom: a scripted REST server (the real data provider over a
// mocked fetch) and a live provider the test emits events on. Loading, unsaved edits, saving with
// the loaded `modified`, the edit conflict (409 reason "stale") and its reload, validation errors
// on the fields and child-row cells, duplicates (409 duplicate_name / duplicate_value) on their
// field, live refreshes and deletions elsewhere, events that arrive during the form's own save, creating,
// submitting. The data-testids and texts are the ones desk/CONTRACT.md and the e2e tests use.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { act, cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { MemoryRouter, Route, Routes, useLocation, useParams } from "react-router";
import { Refine, type LiveEvent, type LiveProvider } from "@refinedev/core";
import { App as AntApp } from "antd";
import { dataProvider, type Doc, type DocTypeMeta } from "../../providers";
import { configureHttp } from "../../providers/http";
import { metaKeys } from "../../providers/meta";
import { resetSessionForTests } from "../../providers/session";
import { json, mockFetch, specError, type Call } from "../../providers/test-utils";
import { ROUTES } from "../../routes";
import { fieldMeta } from "../fieldMeta.testutil";
import FormView from "../FormView";

const T1 = "2026-01-01 10:00:00.000000";
const T2 = "2026-01-01 10:05:00.000000";
const T3 = "2026-01-01 10:09:00.000000";

function metaOf(name: string, extra: Partial<DocTypeMeta> = {}): DocTypeMeta {
  return {
    name,
    label: name,
    is_submittable: false,
    is_single: false,
    track_changes: false,
    naming_rule: "autoincrement",
    permissions: { read: true, write: true, create: true, delete: true, submit: true, cancel: true },
    fields: [fieldMeta("customer_name", "data", { required: true }), fieldMeta("email", "data")],
    standard_fields: [fieldMeta("name", "data", { label: "ID" }), fieldMeta("owner", "data"), fieldMeta("modified", "datetime")],
    child_doctypes: {},
    ...extra,
  } as unknown as DocTypeMeta;
}

/** The server's side: the stored document, and what the next write answers (the default: accept it). */
let stored: Doc;
let onWrite: ((c: Call) => Response | Promise<Response>) | null;
let calls: Call[];
const subscribers: Array<(e: LiveEvent) => void> = [];

const liveProvider: LiveProvider = {
  subscribe: ({ callback }) => {
    subscribers.push(callback);
    return callback;
  },
  unsubscribe: (s) => {
    const i = subscribers.indexOf(s as (e: LiveEvent) => void);
    if (i >= 0) subscribers.splice(i, 1);
  },
};

function emit(type: LiveEvent["type"], payload: Record<string, unknown>) {
  act(() => subscribers.forEach((cb) => cb({ channel: "resources/Customer", type, payload, date: new Date() })));
}

function server(c: Call): Response | Promise<Response> {
  const path = c.url.split("?")[0]!;
  if (c.method === "GET" && path === `/api/v1/${stored.doctype ?? "Customer"}/${stored.id}`) return json(200, stored);
  if (c.method === "GET") return specError(404, "NotFound", "not found");
  if (onWrite) return onWrite(c);
  if (c.method === "PUT") {
    stored = { ...stored, ...(c.body as object), modified: T2 };
    return json(200, stored);
  }
  if (c.method === "POST" && path === "/api/v1/Customer") return json(201, { ...(c.body as object), id: "new-1", name: "CUST-9", modified: T1 });
  if (c.method === "POST" && path.endsWith("/submit")) {
    stored = { ...stored, docstatus: 1, modified: T3 };
    return json(200, stored);
  }
  return specError(500, "InternalError", `unexpected ${c.method} ${c.url}`);
}

function Where() {
  return <div data-testid="where">{useLocation().pathname}</div>;
}

function Doc_({ doctype }: { doctype: string }) {
  const { id } = useParams();
  return <FormView key={id} doctype={doctype} id={id} />;
}

function mount(path: string, meta: DocTypeMeta) {
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  qc.setQueryData(metaKeys.doctype(meta.name), meta);
  render(
    <QueryClientProvider client={qc}>
      <Refine
        dataProvider={dataProvider}
        liveProvider={liveProvider}
        options={{ disableTelemetry: true, reactQuery: { clientConfig: qc } }}
      >
        <AntApp>
          <MemoryRouter initialEntries={[path]}>
            <Routes>
              <Route path={ROUTES.create} element={<FormView doctype={meta.name} />} />
              <Route path={ROUTES.form} element={<Doc_ doctype={meta.name} />} />
              <Route path={ROUTES.list} element={<div data-testid="the-list" />} />
            </Routes>
            <Where />
          </MemoryRouter>
        </AntApp>
      </Refine>
    </QueryClientProvider>,
  );
}

const view = () => screen.getByTestId("form-view");
const input = (name: string) => document.getElementById(name) as HTMLInputElement;
const edit = (name: string, value: string) => fireEvent.change(input(name), { target: { value } });
const writes = () => calls.filter((c) => c.method !== "GET");
/** The error text antd shows under a control (by its id), or null. */
const errorAt = (el: Element | null) => el?.querySelector(".ant-form-item-explain-error")?.textContent ?? null;
const fieldError = (name: string) => errorAt(screen.getByTestId(`field-${name}`));
const cellError = (id: string) => errorAt(document.getElementById(id)?.closest(".ant-form-item") ?? null);

/** Customer with a child table `items` (item, qty). */
function withItems(): DocTypeMeta {
  return metaOf("Customer", {
    fields: [
      fieldMeta("customer_name", "data", { required: true }),
      fieldMeta("email", "data"),
      fieldMeta("items", "table", { options: "Customer Item" }),
    ],
    child_doctypes: { "Customer Item": { fields: [fieldMeta("item", "data"), fieldMeta("qty", "int")] } },
  });
}

async function opened(meta = metaOf("Customer")) {
  mount(`/app/${meta.name}/c1`, meta);
  await waitFor(() => expect(input("customer_name")?.value).toBe("Acme"));
}

const realFetch = globalThis.fetch;
beforeEach(() => {
  stored = { id: "c1", name: "CUST-1", customer_name: "Acme", email: "a@x.test", owner: "ann@x", modified: T1, docstatus: 0 };
  onWrite = null;
  const m = mockFetch((c) => server(c));
  calls = m.calls;
  configureHttp({ fetch: m.fn });
});
afterEach(() => {
  cleanup();
  subscribers.length = 0;
  resetSessionForTests();
  configureHttp({ fetch: (...a) => realFetch(...a) });
});

describe("the document form", () => {
  it("loads the document; an edit marks it unsaved; save sends the loaded modified", async () => {
    await opened();
    expect(view().dataset).toMatchObject({ doctype: "Customer", docstatus: "0", dirty: "0" });
    expect(screen.getByTestId("form-title").textContent).toBe("CUST-1");
    expect((screen.getByTestId("field-owner").querySelector("input") as HTMLInputElement).value).toBe("ann@x");
    expect(screen.queryByTestId("docstatus")).toBeNull(); // not submittable
    edit("email", "b@x.test");
    expect(view().dataset.dirty).toBe("1");
    expect(screen.getByText("Not saved")).toBeTruthy();
    fireEvent.click(screen.getByTestId("form-save"));
    await waitFor(() => expect(view().dataset.dirty).toBe("0"));
    expect(writes()).toHaveLength(1);
    expect(writes()[0]).toMatchObject({ method: "PUT", url: "/api/v1/Customer/c1", body: { email: "b@x.test", modified: T1 } });
    expect(writes()[0]!.headers.get("If-Match")).toBe(`"${T1}"`);
    expect(await screen.findByText("Saved")).toBeTruthy();
    expect(screen.queryByText("Not saved")).toBeNull();
  });

  it("a stale modified is the edit conflict: the edits stay until Reload shows the current version", async () => {
    await opened();
    onWrite = () =>
      specError(409, "Conflict", `Customer 'CUST-1' was modified by someone else at ${T2} (your copy is from ${T1}); reload and try again`, {
        reason: "stale",
        modified: T2,
      });
    edit("email", "mine@x.test");
    fireEvent.click(screen.getByTestId("form-save"));
    expect((await screen.findByTestId("form-conflict")).textContent).toMatch(/modified by someone else/i);
    expect(input("email").value).toBe("mine@x.test");
    expect(screen.queryByTestId("form-error")).toBeNull();
    stored = { ...stored, email: "theirs@x.test", modified: T2 };
    fireEvent.click(screen.getByTestId("form-reload"));
    await waitFor(() => expect(screen.queryByTestId("form-conflict")).toBeNull());
    expect(input("email").value).toBe("theirs@x.test");
    expect(view().dataset.dirty).toBe("0");
  });

  it("the edit conflict is read from the reason, not from the message's words", async () => {
    await opened();
    onWrite = () => specError(409, "Conflict", "Customer 'CUST-1' changed meanwhile", { reason: "stale" });
    edit("email", "mine@x.test");
    fireEvent.click(screen.getByTestId("form-save"));
    expect(await screen.findByTestId("form-conflict")).toBeTruthy();
    expect(screen.queryByTestId("form-error")).toBeNull();
  });

  it("a 409 that is not stale is no edit conflict: a duplicate name without a field shows above the fields", async () => {
    await opened();
    onWrite = () =>
      specError(409, "Conflict", "DocType 'Customer': a document named 'CUST-1' already exists", {
        reason: "duplicate_name",
        field: null,
      });
    edit("email", "mine@x.test");
    fireEvent.click(screen.getByTestId("form-save"));
    expect((await screen.findByTestId("form-error")).textContent).toBe(
      "DocType 'Customer': a document named 'CUST-1' already exists",
    );
    expect(screen.queryByTestId("form-conflict")).toBeNull();
  });

  it("validation errors go on their fields, the rest above them", async () => {
    await opened();
    onWrite = () =>
      specError(400, "ValidationError", "DocType 'Customer': field 'email': not an email; unknown field 'ghost'", [
        { field: "email", row: null, child: null, code: "pattern", message: "not an email" },
        { field: "ghost", row: null, child: null, code: "unknown_field", message: "unknown field 'ghost'" },
      ]);
    edit("email", "nope");
    fireEvent.click(screen.getByTestId("form-save"));
    await waitFor(() =>
      expect(screen.getByTestId("field-email").querySelector(".ant-form-item-explain-error")?.textContent).toBe(
        "not an email",
      ),
    );
    expect(screen.getByTestId("form-error").textContent).toBe("ghost: unknown field 'ghost'");
    expect(view().dataset.dirty).toBe("1");
  });

  it("a child row's error lands on its cell (items.1.qty); an error of a row itself above the fields", async () => {
    stored = {
      ...stored,
      items: [
        { id: "r1", item: "Bolt", qty: 2 },
        { id: "r2", item: "Nut", qty: 0 },
      ],
    };
    await opened(withItems());
    await waitFor(() => expect(input("items_1_item")?.value).toBe("Nut"));
    onWrite = () =>
      specError(
        400,
        "ValidationError",
        "DocType 'Customer': field 'items' row 2: field 'qty': 0 is less than the minimum 1; field 'items' row 1: duplicate row id r1",
        [
          { field: "items", row: 2, child: "qty", code: "below_minimum", message: "0 is less than the minimum 1" },
          { field: "items", row: 1, child: null, code: "bad_row", message: "duplicate row id r1" },
        ],
      );
    edit("email", "b@x.test");
    fireEvent.click(screen.getByTestId("form-save"));
    await waitFor(() => expect(cellError("items_1_qty")).toBe("0 is less than the minimum 1"));
    expect(cellError("items_0_qty")).toBeNull();
    expect(cellError("items_1_item")).toBeNull();
    expect(screen.getByTestId("form-error").textContent).toBe("items row 1: duplicate row id r1");
  });

  it("a hook's error without a field (details null) shows above the fields; one on a field goes on it", async () => {
    await opened();
    onWrite = () => specError(400, "ValidationError", "DocType 'Customer': validate: customers are closed today", null);
    edit("email", "b@x.test");
    fireEvent.click(screen.getByTestId("form-save"));
    expect((await screen.findByTestId("form-error")).textContent).toBe("DocType 'Customer': validate: customers are closed today");
    expect(fieldError("email")).toBeNull();
    expect(view().dataset.dirty).toBe("1");
    onWrite = () =>
      specError(400, "ValidationError", "DocType 'Customer': validate: a customer needs a company email", [
        { field: "email", row: null, child: null, code: "hook", message: "a customer needs a company email" },
      ]);
    fireEvent.click(screen.getByTestId("form-save"));
    await waitFor(() => expect(fieldError("email")).toBe("a customer needs a company email"));
    expect(screen.queryByTestId("form-error")).toBeNull();
  });

  it("a duplicate unique value (409 duplicate_value) goes on its field", async () => {
    await opened();
    onWrite = () =>
      specError(409, "Conflict", "DocType 'Customer': field 'email': value \"b@x.test\" already exists", {
        reason: "duplicate_value",
        field: "email",
        message: 'value "b@x.test" already exists',
      });
    edit("email", "b@x.test");
    fireEvent.click(screen.getByTestId("form-save"));
    await waitFor(() => expect(fieldError("email")).toBe('value "b@x.test" already exists'));
    expect(screen.queryByTestId("form-error")).toBeNull();
    expect(screen.queryByTestId("form-conflict")).toBeNull();
  });

  it("a duplicate name with prompt naming (409 duplicate_name) goes on the name field", async () => {
    mount("/app/Customer/new", metaOf("Customer", { naming_rule: "prompt" }));
    await screen.findByTestId("form-view");
    onWrite = () =>
      specError(409, "Conflict", "DocType 'Customer': a document named 'CUST-1' already exists", {
        reason: "duplicate_name",
        field: "name",
        message: "a document named 'CUST-1' already exists",
      });
    edit("name", "CUST-1");
    edit("customer_name", "Zenith");
    fireEvent.click(screen.getByTestId("form-save"));
    await waitFor(() => expect(fieldError("name")).toBe("a document named 'CUST-1' already exists"));
    expect(writes()[0]).toMatchObject({ method: "POST", body: { name: "CUST-1", customer_name: "Zenith" } });
    expect(screen.queryByTestId("form-error")).toBeNull();
    expect(screen.queryByTestId("form-conflict")).toBeNull();
    expect(screen.getByTestId("where").textContent).toBe("/app/Customer/new");
  });

  it("a required field left empty is refused before any request", async () => {
    await opened();
    edit("customer_name", "");
    fireEvent.click(screen.getByTestId("form-save"));
    await waitFor(() =>
      expect(screen.getByTestId("field-customer_name").querySelector(".ant-form-item-explain-error")).toBeTruthy(),
    );
    expect(writes()).toHaveLength(0);
  });

  it("a change elsewhere refreshes a form without edits and says so; with edits it is a conflict", async () => {
    await opened();
    stored = { ...stored, customer_name: "Acme 2", modified: T2 };
    emit("updated", { id: "c1", modified: T2 });
    await waitFor(() => expect(input("customer_name").value).toBe("Acme 2"));
    expect(await screen.findByTestId("form-live-updated")).toBeTruthy();
    edit("email", "mine@x.test"); // an edit hides the notice
    await waitFor(() => expect(screen.queryByTestId("form-live-updated")).toBeNull());
    stored = { ...stored, customer_name: "Acme 3", modified: T3 };
    emit("updated", { id: "c1", modified: T3 });
    expect(await screen.findByTestId("form-conflict")).toBeTruthy();
    expect(input("customer_name").value).toBe("Acme 2");
    expect(input("email").value).toBe("mine@x.test");
  });

  it("ignores other documents' events and the echo of its own save, even one that arrives during the save", async () => {
    await opened();
    emit("updated", { id: "other", modified: T3 });
    let answer!: () => void;
    onWrite = (c) =>
      new Promise<Response>((resolve) => {
        answer = () => {
          stored = { ...stored, ...(c.body as object), modified: T2 };
          resolve(json(200, stored));
        };
      });
    edit("email", "b@x.test");
    fireEvent.click(screen.getByTestId("form-save"));
    await waitFor(() => expect(writes()).toHaveLength(1));
    emit("updated", { id: "c1", modified: T2 }); // the server's event of our own save, before its answer
    await act(async () => answer());
    await waitFor(() => expect(view().dataset.dirty).toBe("0"));
    await act(() => new Promise((r) => setTimeout(r, 50)));
    expect(screen.queryByTestId("form-conflict")).toBeNull();
    expect(screen.queryByTestId("form-live-updated")).toBeNull();
  });

  it("shows a deletion elsewhere", async () => {
    await opened();
    emit("deleted", { id: "c1" });
    expect((await screen.findByTestId("form-deleted-elsewhere")).textContent).toContain("deleted by someone else");
  });

  it("a document that does not exist", async () => {
    mount("/app/Customer/c9", metaOf("Customer"));
    expect((await screen.findByTestId("form-error")).textContent).toBe("Customer c9 was not found");
  });

  it("a new document: the defaults, then created and opened at its own URL", async () => {
    const meta = metaOf("Customer", {
      fields: [fieldMeta("customer_name", "data", { required: true }), fieldMeta("email", "data", { default: "x@y.test" })],
    });
    mount("/app/Customer/new", meta);
    await screen.findByTestId("form-view");
    expect(screen.getByTestId("form-title").textContent).toBe("New Customer");
    expect(input("email").value).toBe("x@y.test");
    expect(screen.queryByTestId("form-delete")).toBeNull();
    edit("customer_name", "Zenith");
    fireEvent.click(screen.getByTestId("form-save"));
    await waitFor(() => expect(screen.getByTestId("where").textContent).toBe("/app/Customer/new-1"));
    expect(writes()[0]).toMatchObject({ method: "POST", url: "/api/v1/Customer", body: { customer_name: "Zenith", email: "x@y.test" } });
    expect(await screen.findByText("Customer CUST-9 created")).toBeTruthy();
  });

  it("submits a submittable document and shows it Submitted", async () => {
    await opened(metaOf("Customer", { is_submittable: true }));
    expect(screen.getByTestId("docstatus").textContent).toBe("Draft");
    fireEvent.click(screen.getByTestId("form-submit"));
    await waitFor(() => expect(screen.getByTestId("docstatus").textContent).toBe("Submitted"));
    expect(view().dataset.docstatus).toBe("1");
    expect(writes().map((c) => `${c.method} ${c.url}`)).toEqual(["POST /api/v1/Customer/c1/submit"]);
    expect(screen.queryByTestId("form-submit")).toBeNull();
    expect(screen.getByTestId("form-cancel-doc")).toBeTruthy();
  });

  it("submitting with unsaved edits saves them first; a refused save submits nothing", async () => {
    await opened(metaOf("Customer", { is_submittable: true }));
    edit("customer_name", "");
    fireEvent.click(screen.getByTestId("form-submit"));
    await waitFor(() =>
      expect(screen.getByTestId("field-customer_name").querySelector(".ant-form-item-explain-error")).toBeTruthy(),
    );
    expect(writes()).toHaveLength(0);
    edit("customer_name", "Acme S");
    fireEvent.click(screen.getByTestId("form-submit"));
    await waitFor(() => expect(writes()).toHaveLength(2));
    expect(writes().map((c) => `${c.method} ${c.url}`)).toEqual(["PUT /api/v1/Customer/c1", "POST /api/v1/Customer/c1/submit"]);
    expect(writes()[0]!.body).toMatchObject({ customer_name: "Acme S", modified: T1 });
  });

  it("deletes after the confirmation and goes back to the list", async () => {
    await opened();
    onWrite = () => new Response(null, { status: 204 });
    fireEvent.click(screen.getByTestId("form-delete"));
    fireEvent.click(await screen.findByTestId("form-delete-confirm"));
    await waitFor(() => expect(screen.getByTestId("where").textContent).toBe("/app/Customer"));
    expect(writes()[0]).toMatchObject({ method: "DELETE", url: "/api/v1/Customer/c1" });
  });
});
