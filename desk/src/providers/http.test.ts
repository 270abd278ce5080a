import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError, apiFetch, configureHttp, login, refreshSession } from "./http";
import { authProvider } from "./authProvider";
import { hasSessionMarker, markSessionSeen, resetSessionForTests, sessionStore } from "./session";
import { json, mockFetch, specError, type Handler } from "./test-utils";

const realFetch = globalThis.fetch;
const realSetItem = Storage.prototype.setItem;
let calls: ReturnType<typeof mockFetch>["calls"];
function use(handler: Handler) {
  const m = mockFetch(handler);
  calls = m.calls;
  configureHttp({ fetch: m.fn, baseUrl: "", healthInterval: 2000, backoff: [1000, 2000, 4000, 5000] });
}
const unauth = () => specError(401, "PermissionDenied", "token expired");
const tick = () => new Promise((r) => setTimeout(r, 0));

beforeEach(() => resetSessionForTests());
afterEach(() => {
  vi.useRealTimers();
  configureHttp({ fetch: (...a) => realFetch(...a) });
});

describe("apiFetch basics", () => {
  it("sends JSON with same-origin credentials and parses the reply", async () => {
    const m = mockFetch(() => json(201, { ok: 1 }));
    configureHttp({ fetch: m.fn });
    expect(await apiFetch("/api/v1/X", { method: "POST", body: { a: 1 } })).toEqual({ ok: 1 });
    const init = (m.fn as unknown as { mock: { calls: [string, RequestInit][] } }).mock.calls[0][1];
    expect(init.credentials).toBe("same-origin");
    expect(m.calls[0].body).toEqual({ a: 1 });
    expect(m.calls[0].headers.get("Content-Type")).toBe("application/json");
  });

  it("204 → undefined; a non-JSON error page still becomes an ApiError", async () => {
    use((c) => (c.method === "DELETE" ? new Response(null, { status: 204 }) : new Response("nope", { status: 404 })));
    expect(await apiFetch("/a", { method: "DELETE" })).toBeUndefined();
    await expect(apiFetch("/a")).rejects.toMatchObject({ statusCode: 404, error: "NotFound", message: "nope" });
  });

  it("an error reply's structured details become the ApiError's errors, reason and details", async () => {
    const fieldErrors = [
      { field: "customer", row: null, child: null, code: "required", message: "field 'customer' is required" },
      { field: "items", row: 2, child: "qty", code: "below_minimum", message: "0 is less than the minimum 1" },
    ];
    use((c) => {
      if (c.url === "/api/v1/Invoice")
        return specError(
          400,
          "ValidationError",
          "DocType 'Invoice': field 'customer' is required; field 'items' row 2: field 'qty': 0 is less than the minimum 1",
          fieldErrors,
        );
      if (c.url === "/api/v1/Customer")
        return specError(409, "Conflict", "DocType 'Customer': field 'email': value \"a@b.c\" already exists", {
          reason: "duplicate_value",
          field: "email",
        });
      if (c.url === "/api/v1/auth/login") return specError(429, "TooManyRequests", "too many login attempts", { retry_after: 30 });
      return specError(500, "InternalError", "internal error; see the server log for request r-1", { request_id: "r-1" });
    });
    const invalid = (await apiFetch("/api/v1/Invoice", { method: "POST", body: {} }).catch((e: unknown) => e)) as ApiError;
    expect(invalid).toMatchObject({
      statusCode: 400,
      details: fieldErrors,
      errors: { customer: ["field 'customer' is required"], "items.1.qty": ["0 is less than the minimum 1"] },
      rowErrors: { items: { 1: { qty: ["0 is less than the minimum 1"] } } },
    });
    expect(invalid.reason).toBeUndefined();
    const dup = (await apiFetch("/api/v1/Customer", { method: "POST", body: {} }).catch((e: unknown) => e)) as ApiError;
    expect(dup).toMatchObject({ statusCode: 409, error: "Conflict", reason: "duplicate_value", conflictField: "email", errors: {} });
    const limited = (await apiFetch("/api/v1/auth/login", { method: "POST", body: {} }).catch((e: unknown) => e)) as ApiError;
    expect(limited).toMatchObject({ statusCode: 429, details: { retry_after: 30 }, errors: {} });
    expect(limited.reason).toBeUndefined();
    const failed = (await apiFetch("/api/v1/X").catch((e: unknown) => e)) as ApiError;
    expect(failed).toMatchObject({ statusCode: 500, details: { request_id: "r-1" }, errors: {} });
  });
});

describe("401 → refresh → retry", () => {
  it("refreshes once for concurrent 401s (with the refresh cookie) and retries each request", async () => {
    localStorage.setItem("fm.session", "1");
    let cookie = "old";
    let refreshes = 0;
    use(async (c) => {
      if (c.url === "/api/v1/auth/refresh") {
        refreshes++;
        expect(c.body).toEqual({ session: "cookie" });
        await tick();
        cookie = "new";
        return json(200, { access_token: "A2", token_type: "bearer", expires_in: 900 });
      }
      return cookie === "new" ? json(200, { url: c.url }) : unauth();
    });
    const results = await Promise.all([apiFetch("/api/v1/A"), apiFetch("/api/v1/B"), apiFetch("/api/v1/C")]);
    expect(results).toEqual([{ url: "/api/v1/A" }, { url: "/api/v1/B" }, { url: "/api/v1/C" }]);
    expect(refreshes).toBe(1);
    expect(hasSessionMarker()).toBe(true);
  });

  it("never logged in: a plain 401, no refresh", async () => {
    use(() => unauth());
    const err = (await apiFetch("/api/v1/A").catch((e: unknown) => e)) as ApiError;
    expect(err).toBeInstanceOf(ApiError);
    expect(err.statusCode).toBe(401);
    expect(calls.map((c) => c.url)).toEqual(["/api/v1/A"]);
    expect(sessionStore.getSnapshot().expired).toBe(false);
  });

  it("auth endpoints are never refreshed (a wrong password is just an error)", async () => {
    localStorage.setItem("fm.session", "1");
    use(() => specError(401, "PermissionDenied", "invalid email or password"));
    await expect(login("a@b.c", "bad")).rejects.toMatchObject({ statusCode: 401, message: "invalid email or password" });
    expect(calls).toHaveLength(1);
  });

  it("refresh fails after a session: waits for the re-login, then retries (edits survive)", async () => {
    localStorage.setItem("fm.session", "1");
    markSessionSeen();
    let loggedIn = false;
    use((c) => {
      if (c.url === "/api/v1/auth/refresh") return specError(401, "PermissionDenied", "session ended");
      if (c.url === "/api/v1/auth/login") {
        if (c.body && (c.body as { password: string }).password !== "right") {
          return specError(401, "PermissionDenied", "invalid email or password");
        }
        loggedIn = true;
        return json(200, { access_token: "A", token_type: "bearer", expires_in: 900 });
      }
      return loggedIn ? json(200, { saved: c.body }) : unauth();
    });
    let settled = false;
    const save = apiFetch("/api/v1/Invoice/x", { method: "PUT", body: { total: 5 } }).then((r) => {
      settled = true;
      return r;
    });
    await vi.waitFor(() => expect(sessionStore.getSnapshot().expired).toBe(true));
    await tick();
    expect(settled).toBe(false);
    // Another request made meanwhile waits too, without hitting the server.
    const before = calls.length;
    const other = apiFetch("/api/v1/Customer");
    await tick();
    expect(calls.length).toBe(before);
    // A wrong password in the modal: still waiting.
    await expect(login("a@b.c", "wrong")).rejects.toThrow("invalid email or password");
    expect(sessionStore.getSnapshot().expired).toBe(true);
    await login("a@b.c", "right");
    expect(await save).toEqual({ saved: { total: 5 } });
    expect(await other).toEqual({ saved: undefined });
    expect(sessionStore.getSnapshot().expired).toBe(false);
    expect(calls.find((c) => c.url === "/api/v1/auth/refresh")?.body).toEqual({ session: "cookie" });
    expect(calls.at(-3)).toMatchObject({ url: "/api/v1/auth/login", body: { email: "a@b.c", password: "right", session: "cookie" } });
  });

  it("no session marker (logged out in another tab) after a session: the modal, no refresh to try", async () => {
    markSessionSeen();
    use(() => unauth());
    const p = apiFetch("/api/v1/A");
    await vi.waitFor(() => expect(sessionStore.getSnapshot().expired).toBe(true));
    expect(calls.map((c) => c.url)).toEqual(["/api/v1/A"]);
    use(() => json(200, { ok: true }));
    await login("a@b.c", "pw");
    expect(await p).toEqual({ ok: true });
  });
});

describe("no token in reach of JavaScript", () => {
  // Tokens an older server (or a wrong one) might still put in its JSON: none may be stored.
  const TOKENS = ["ACCESS-1", "REFRESH-1", "ACCESS-2", "REFRESH-2"];

  it("login, a silent refresh and logout never write a token to localStorage or sessionStorage", async () => {
    const writes: Array<[string, string]> = [];
    const setItem = vi.spyOn(Storage.prototype, "setItem").mockImplementation(function (this: Storage, k, v) {
      writes.push([k, v]);
      Reflect.apply(realSetItem, this, [k, v]);
    });
    let expired = false;
    use((c) => {
      if (c.url === "/api/v1/auth/login") {
        return json(200, { access_token: TOKENS[0], token_type: "bearer", expires_in: 900, refresh_token: TOKENS[1] });
      }
      if (c.url === "/api/v1/auth/refresh") {
        expired = false;
        return json(200, { access_token: TOKENS[2], token_type: "bearer", expires_in: 900, refresh_token: TOKENS[3] });
      }
      if (c.url === "/api/v1/auth/logout") return new Response(null, { status: 204 });
      return expired ? unauth() : json(200, { ok: true });
    });
    try {
      await login("a@b.c", "pw");
      expired = true;
      expect(await apiFetch("/api/v1/A")).toEqual({ ok: true });
      expect(await refreshSession()).toBe(true);
      await authProvider.logout({});
    } finally {
      setItem.mockRestore();
    }
    expect(calls.map((c) => c.url)).toEqual([
      "/api/v1/auth/login", "/api/v1/A", "/api/v1/auth/refresh", "/api/v1/A", "/api/v1/auth/refresh", "/api/v1/auth/logout",
    ]);
    expect(writes.length).toBeGreaterThan(0);
    for (const [k, v] of writes) {
      expect(["fm.session", "fm.email"]).toContain(k);
      for (const t of TOKENS) expect(v).not.toContain(t);
    }
    const stored = [...Object.entries({ ...localStorage }), ...Object.entries({ ...sessionStorage })];
    for (const [, v] of stored) for (const t of TOKENS) expect(v).not.toContain(t);
    expect(sessionStorage.length).toBe(0);
    expect(calls.filter((c) => c.url.startsWith("/api/v1/auth/")).map((c) => c.body)).toEqual([
      { email: "a@b.c", password: "pw", session: "cookie" },
      { session: "cookie" },
      { session: "cookie" },
      {},
    ]);
  });

  it("a refresh token an older Desk left in localStorage is deleted when the Desk starts", async () => {
    localStorage.setItem("fm.refresh_token", "legacy-refresh-token");
    vi.resetModules();
    await import("./session");
    expect(localStorage.getItem("fm.refresh_token")).toBeNull();
  });
});

describe("server down", () => {
  it("GET retries with backoff until the server answers; /health every 2 s clears the flag", async () => {
    vi.useFakeTimers();
    let up = false;
    use((c) => {
      if (!up) return c.url === "/health" ? "network-error" : "network-error";
      return c.url === "/health" ? json(200, { status: "ok" }) : json(200, { items: [] });
    });
    const p = apiFetch("/api/v1/Customer");
    await vi.advanceTimersByTimeAsync(0);
    expect(sessionStore.getSnapshot().serverDown).toBe(true);
    expect(calls.filter((c) => c.url === "/api/v1/Customer")).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1000); // retry 1 after 1 s
    expect(calls.filter((c) => c.url === "/api/v1/Customer")).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(2000); // retry 2 after 2 s more (and a health probe at 2 s)
    expect(calls.filter((c) => c.url === "/api/v1/Customer")).toHaveLength(3);
    expect(calls.filter((c) => c.url === "/health").length).toBeGreaterThanOrEqual(1);
    up = true;
    // The next health probe (every 2 s) sees it back and wakes the waiting GET at once.
    await vi.advanceTimersByTimeAsync(2000);
    expect(sessionStore.getSnapshot().serverDown).toBe(false);
    await expect(p).resolves.toEqual({ items: [] });
    const probes = calls.filter((c) => c.url === "/health").length;
    await vi.advanceTimersByTimeAsync(10000);
    expect(calls.filter((c) => c.url === "/health").length).toBe(probes); // polling stopped
  });

  it("502/503/504 without a healthy /health count as down too", async () => {
    vi.useFakeTimers();
    let n = 0;
    use((c) => {
      if (c.url === "/health") return new Response("bad gateway", { status: 502 });
      return ++n < 3 ? new Response("<html>bad gateway</html>", { status: 502 }) : json(200, { ok: true });
    });
    const p = apiFetch("/api/v1/X");
    await vi.advanceTimersByTimeAsync(0);
    expect(sessionStore.getSnapshot().serverDown).toBe(true);
    await vi.advanceTimersByTimeAsync(3000);
    await expect(p).resolves.toEqual({ ok: true });
    expect(sessionStore.getSnapshot().serverDown).toBe(false);
  });

  it("a 503 the server chose while /health is fine is an answer, not an outage", async () => {
    use((c) => (c.url === "/health" ? json(200, { status: "ok" }) : specError(503, "ServiceUnavailable", "this server has no job queue")));
    await expect(apiFetch("/api/v1/jobs/x")).rejects.toMatchObject({ statusCode: 503, message: "this server has no job queue" });
    expect(sessionStore.getSnapshot().serverDown).toBe(false);
  });

  it("mutations fail at once with statusCode 0", async () => {
    vi.useFakeTimers();
    use(() => "network-error");
    const err = (await apiFetch("/api/v1/Customer", { method: "POST", body: { a: 1 } }).catch((e: unknown) => e)) as ApiError;
    expect(err).toBeInstanceOf(ApiError);
    expect(err.statusCode).toBe(0);
    expect(err.message).toMatch(/Cannot reach the server/);
    expect(sessionStore.getSnapshot().serverDown).toBe(true);
    expect(calls.filter((c) => c.url === "/api/v1/Customer")).toHaveLength(1);
    use(() => json(200, { status: "ok" }));
    await vi.advanceTimersByTimeAsync(2000);
    expect(sessionStore.getSnapshot().serverDown).toBe(false);
  });

  it("an aborted GET stops retrying", async () => {
    vi.useFakeTimers();
    use(() => "network-error");
    const ctl = new AbortController();
    const p = apiFetch("/api/v1/X", { signal: ctl.signal }).catch((e) => e);
    await vi.advanceTimersByTimeAsync(0);
    ctl.abort();
    const err = await p;
    expect((err as Error).name).toBe("AbortError");
    use(() => json(200, {}));
    await vi.advanceTimersByTimeAsync(2000);
  });
});
