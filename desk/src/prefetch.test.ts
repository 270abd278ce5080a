import { afterEach, describe, expect, it } from "vitest";
import { QueryClient } from "@tanstack/react-query";
import { primeFromBoot, type BootPrefetch } from "./prefetch";
import { metaKeys } from "./providers/meta";
import { clearPrimedSession, configureHttp, currentSession } from "./providers/http";
import { resetSessionForTests } from "./providers/session";
import { json, mockFetch } from "./providers/test-utils";
import type { DocTypeMeta, MeReply } from "./providers/types";

const me = { authenticated: true, id: "u1", name: "Ann", email: "ann@x", roles: ["Admin"] } as unknown as MeReply;
const meta = {
  name: "Customer",
  fields: [{ name: "customer_name", type: "data", in_list_view: true }],
  standard_fields: [],
} as unknown as DocTypeMeta;

function fakeWindow(path: string, boot?: Partial<BootPrefetch>): Window {
  const [pathname, search = ""] = path.split("?");
  return {
    location: { pathname, search: search ? `?${search}` : "" },
    __fmBoot: boot && { at: Date.now(), doctype: null, meta: null, ...boot },
  } as unknown as Window;
}

const realFetch = globalThis.fetch;
afterEach(() => {
  resetSessionForTests();
  clearPrimedSession();
  configureHttp({ fetch: (...a) => realFetch(...a) });
});

describe("primeFromBoot", () => {
  it("seeds the session, the DocTypes and the metadata; answers the first session checks", async () => {
    const qc = new QueryClient();
    const m = mockFetch(() => json(200, { items: [], total: 0, limit: 20, offset: 0, has_more: false }));
    configureHttp({ fetch: m.fn });
    const win = fakeWindow("/desk/app/Customer", {
      me: Promise.resolve(me),
      doctypes: Promise.resolve({ items: [{ name: "Customer" } as never] }),
      doctype: "Customer",
      meta: Promise.resolve(meta),
    });
    await primeFromBoot(qc, win);
    expect(qc.getQueryData(metaKeys.me)).toEqual(me);
    expect(qc.getQueryData(metaKeys.doctypes)).toEqual([{ name: "Customer" }]);
    expect(qc.getQueryData(metaKeys.doctype("Customer"))).toBe(meta);
    expect(qc.getQueryData(["auth", "check"])).toEqual({ authenticated: true });
    expect(win.__fmBoot).toBeUndefined();
    // the list page was prefetched; /auth/me is not asked again
    expect(await currentSession()).toEqual(me);
    expect(m.calls.map((c) => c.url)).toEqual(["/api/v1/Customer?limit=20&offset=0&fields=id%2Cname%2Ccustomer_name"]);
  });

  it("seeds nothing when the session is not authenticated", async () => {
    const qc = new QueryClient();
    await primeFromBoot(qc, fakeWindow("/desk/", { me: Promise.resolve(null), doctypes: Promise.resolve(null) }));
    expect(qc.getQueryData(metaKeys.me)).toBeUndefined();
    expect(qc.getQueryData(["auth", "check"])).toBeUndefined();
  });

  it("does nothing without a boot prefetch", async () => {
    const qc = new QueryClient();
    await primeFromBoot(qc, fakeWindow("/desk/"));
    expect(qc.getQueryCache().getAll()).toHaveLength(0);
  });
});
