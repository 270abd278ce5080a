import { afterEach, describe, expect, it } from "vitest";
import { act, cleanup, fireEvent, render, waitFor } from "@testing-library/react";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { Refine, type BaseRecord, type DataProvider, type GetListParams } from "@refinedev/core";
import { metaKeys } from "../providers/meta";
import type { DocTypeMeta } from "../providers";
import { LinkSelect } from "./LinkSelect";

const CUSTOMERS: BaseRecord[] = [
  { id: "1", name: "CUST-00001", customer_name: "Acme Corporation" },
  { id: "2", name: "CUST-00002", customer_name: "Globex" },
  { id: "3", name: "CUST-00003", customer_name: "Acorn Ltd" },
];

/** One getList call; `answer` resolves it (with `rows`, else the server's matches). */
interface Pending {
  field?: string;
  value?: string;
  answer(rows?: BaseRecord[]): void;
}

/** A data provider whose getList answers only when the test says so, like a server would. */
function scriptedProvider() {
  const pending: Pending[] = [];
  const getList = (params: GetListParams) =>
    new Promise<{ data: BaseRecord[]; total: number }>((resolve) => {
      const f = params.filters?.[0] as { field: string; value: string } | undefined;
      const matches = CUSTOMERS.filter(
        (c) => !f || String(c[f.field]).toLowerCase().includes(f.value.toLowerCase()),
      );
      pending.push({
        field: f?.field,
        value: f?.value,
        answer: (rows = matches) => resolve({ data: rows.map((r) => ({ ...r })), total: rows.length }),
      });
    });
  const dp = { getList, getApiUrl: () => "/api/v1" } as unknown as DataProvider;
  /** Answers every pending call for query `q` ("" = the unfiltered list). */
  const answer = (q: string, rows?: BaseRecord[]) => {
    const now = pending.filter((p) => (p.value ?? "") === q);
    expect(now.length).toBeGreaterThan(0);
    for (const p of now) pending.splice(pending.indexOf(p), 1);
    act(() => now.forEach((p) => p.answer(rows)));
  };
  return { dp, pending, answer };
}

function mount(dp: DataProvider) {
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  qc.setQueryData(metaKeys.doctype("Customer"), {
    name: "Customer",
    label: "Customer",
    title_field: "customer_name",
    fields: [],
  } as unknown as DocTypeMeta);
  const ui = (
    <QueryClientProvider client={qc}>
      <Refine dataProvider={dp} options={{ disableTelemetry: true, reactQuery: { clientConfig: qc } }}>
        <LinkSelect id="customer" target="Customer" />
      </Refine>
    </QueryClientProvider>
  );
  const r = render(ui);
  return { qc, rerender: () => r.rerender(ui) };
}

const input = () => document.getElementById("customer") as HTMLInputElement;
const popup = () => document.querySelector("[data-testid=link-options]") as HTMLElement | null;
const option = (label: string) =>
  [...document.querySelectorAll(".ant-select-item-option")].find((o) => o.textContent === label);
const labels = () => [...document.querySelectorAll(".ant-select-item-option")].map((o) => o.textContent);

function open() {
  fireEvent.mouseDown(document.querySelector(".ant-select-selector")!);
}
function type(text: string) {
  fireEvent.change(input(), { target: { value: text } });
}

afterEach(() => cleanup());

describe("LinkSelect", () => {
  it("typing a document's title finds it: the search covers the title field, not only the name", async () => {
    const s = scriptedProvider();
    mount(s.dp);
    open();
    await waitFor(() => expect(s.pending).toHaveLength(1));
    s.answer("");
    type("Acme");
    await waitFor(() => expect(s.pending).toHaveLength(2));
    expect(s.pending.map((p) => p.field).sort()).toEqual(["customer_name", "name"]);
    s.answer("Acme");
    await waitFor(() => expect(popup()?.dataset.loading).toBe("false"));
    expect(popup()?.dataset.query).toBe("Acme");
    expect(labels()).toEqual(["Acme Corporation (CUST-00001)"]);
  });

  it("keeps the last options (the same elements) while the next search loads; a late answer to an older query never replaces the newer one's", async () => {
    const s = scriptedProvider();
    mount(s.dp);
    open();
    await waitFor(() => expect(s.pending).toHaveLength(1));
    s.answer("");
    await waitFor(() => expect(labels()).toHaveLength(3));
    const acme = option("Acme Corporation (CUST-00001)");
    expect(acme).toBeTruthy();

    type("Ac");
    // Typed but not searched yet (the debounce), then searching: the options stay, marked loading.
    expect(option("Acme Corporation (CUST-00001)")).toBe(acme);
    const loadingWhileDebounced = popup()?.dataset.loading;
    await waitFor(() => expect(s.pending.length).toBeGreaterThan(0));
    expect(labels()).toHaveLength(3);
    expect(option("Acme Corporation (CUST-00001)")).toBe(acme);
    expect(s.pending).toHaveLength(2);
    expect(loadingWhileDebounced).toBe("true");
    expect(popup()?.dataset.loading).toBe("true");
    expect(popup()?.dataset.query).toBe("");

    type("Acme");
    await waitFor(() => expect(s.pending).toHaveLength(4));
    s.answer("Acme");
    await waitFor(() => expect(popup()?.dataset.query).toBe("Acme"));
    expect(popup()?.dataset.loading).toBe("false");
    expect(labels()).toEqual(["Acme Corporation (CUST-00001)"]);
    expect(option("Acme Corporation (CUST-00001)")).toBe(acme);

    // The answer to "Ac" arrives last, with rows of its own: it is not shown.
    s.answer("Ac", CUSTOMERS);
    await new Promise((r) => setTimeout(r, 50));
    expect(popup()?.dataset.query).toBe("Acme");
    expect(labels()).toEqual(["Acme Corporation (CUST-00001)"]);
  });

  it("re-renders and refetches that bring the same rows keep the option elements", async () => {
    const s = scriptedProvider();
    const { qc, rerender } = mount(s.dp);
    open();
    await waitFor(() => expect(s.pending).toHaveLength(1));
    s.answer("");
    await waitFor(() => expect(labels()).toHaveLength(3));
    const globex = option("Globex (CUST-00002)");
    rerender();
    type(" "); // trims to the same query: no new search
    await new Promise((r) => setTimeout(r, 300));
    expect(s.pending).toHaveLength(0);
    expect(option("Globex (CUST-00002)")).toBe(globex);
    // A refetch (e.g. Refine invalidating the Customer lists) answering the same rows.
    act(() => {
      void qc.invalidateQueries();
    });
    await waitFor(() => expect(s.pending).toHaveLength(1));
    s.answer("");
    await waitFor(() => expect(popup()?.dataset.loading).toBe("false"));
    expect(option("Globex (CUST-00002)")).toBe(globex);
  });
});
