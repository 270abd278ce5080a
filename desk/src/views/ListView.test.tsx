// The list view and the boot prefetch (src/prefetch.ts) build the same request for the same URL:
// both use listRequestOf, so the page prefetched at boot is the one the list shows, and the list
// asks the server nothing more.
import { afterEach, describe, expect, it } from "vitest";
import { cleanup, render, screen, waitFor } from "@testing-library/react";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { MemoryRouter } from "react-router";
import { Refine } from "@refinedev/core";
import { primeFromBoot, type BootPrefetch } from "../prefetch";
import { dataProvider } from "../providers";
import { clearPrimedSession, configureHttp } from "../providers/http";
import { resetSessionForTests } from "../providers/session";
import { json, mockFetch } from "../providers/test-utils";
import type { DocTypeMeta, MeReply } from "../providers/types";
import { fieldMeta } from "./fieldMeta.testutil";
import { listRequestOf } from "./listParams";
import { listQuery } from "../providers/dataProvider";
import ListView from "./ListView";

const me = { authenticated: true, id: "u1", name: "Ann", email: "ann@x", roles: ["Admin"] } as MeReply;
const meta = {
  name: "Customer",
  label: "Customer",
  is_submittable: false,
  is_single: false,
  permissions: { read: true, create: true },
  fields: [
    fieldMeta("customer_name", "data", { in_list_view: true }),
    fieldMeta("credit_limit", "decimal", { in_list_view: true }),
    fieldMeta("notes", "text"),
  ],
  standard_fields: [fieldMeta("name", "data", { label: "ID" }), fieldMeta("modified", "datetime")],
  child_doctypes: {},
} as unknown as DocTypeMeta;

const realFetch = globalThis.fetch;
afterEach(() => {
  cleanup();
  resetSessionForTests();
  clearPrimedSession();
  configureHttp({ fetch: (...a) => realFetch(...a) });
});

/** Boots at `url` (a full /desk URL) the way main.tsx does, then renders its list view. */
async function bootAndRender(url: string) {
  const m = mockFetch((c) => {
    const offset = Number(new URL(c.url, "http://x").searchParams.get("offset"));
    return json(200, {
      items: [{ id: `id-${offset}`, name: `CUST-${offset}`, customer_name: "Acme", credit_limit: "12.5" }],
      total: 123,
      limit: 20,
      offset,
      has_more: true,
    });
  });
  configureHttp({ fetch: m.fn });
  const [pathname, search = ""] = url.split("?");
  const win = {
    location: { pathname, search: search ? `?${search}` : "" },
    __fmBoot: {
      at: Date.now(),
      me: Promise.resolve(me),
      doctypes: Promise.resolve({ items: [] }),
      doctype: "Customer",
      meta: Promise.resolve(meta),
    } satisfies BootPrefetch,
  } as unknown as Window;
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  await primeFromBoot(qc, win);
  const prefetched = m.calls.map((c) => c.url);
  render(
    <QueryClientProvider client={qc}>
      <Refine dataProvider={dataProvider} options={{ disableTelemetry: true, reactQuery: { clientConfig: qc } }}>
        <MemoryRouter initialEntries={[url.replace(/^\/desk/, "")]}>
          <ListView doctype="Customer" />
        </MemoryRouter>
      </Refine>
    </QueryClientProvider>,
  );
  return { calls: m.calls, prefetched };
}

const URLS = [
  "/desk/app/Customer",
  "/desk/app/Customer/",
  "/desk/app/Customer?sort=-customer_name",
  "/desk/app/Customer?page=3&pageSize=50&sort=credit_limit,-name",
  "/desk/app/Customer?filters=" + encodeURIComponent(JSON.stringify([["customer_name", "like", "ac"], ["credit_limit", ">", 10]])),
];

describe("the list view and the boot prefetch", () => {
  it.each(URLS)("ask for the same page at %s; the list shows it without fetching again", async (url) => {
    const { calls, prefetched } = await bootAndRender(url);
    const [, search = ""] = url.split("?");
    const expected = `/api/v1/Customer?${listQuery(listRequestOf(meta, new URLSearchParams(search)))}`;
    expect(prefetched).toEqual([expected]);
    const offset = new URL(expected, "http://x").searchParams.get("offset");
    expect(await screen.findByText(`CUST-${offset}`)).toBeTruthy();
    await waitFor(() => expect(screen.getByTestId("list-total").textContent).toContain("123 records"));
    // Give a second request the time to go out: there is none.
    await new Promise((r) => setTimeout(r, 50));
    expect(calls.map((c) => c.url)).toEqual([expected]);
  });
});
