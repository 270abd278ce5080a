import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { authProvider } from "./authProvider";
import { configureHttp } from "./http";
import { getLastEmail, hasSessionMarker, resetSessionForTests } from "./session";
import { json, mockFetch, specError, type Handler } from "./test-utils";

const realFetch = globalThis.fetch;
let calls: ReturnType<typeof mockFetch>["calls"];
function serve(handler: Handler) {
  const m = mockFetch(handler);
  calls = m.calls;
  configureHttp({ fetch: m.fn });
}
const me = { authenticated: true, id: "a@b.c", email: "a@b.c", name: "A B", roles: ["Admin", "Sales User"] };

beforeEach(() => resetSessionForTests());
afterEach(() => configureHttp({ fetch: (...a) => realFetch(...a) }));

/** A server whose refresh succeeds; every other call gets `answer(whether a refresh happened)`. */
function afterRefresh(answer: (fresh: boolean) => Response) {
  let fresh = false;
  serve((c) => {
    if (c.url.endsWith("/refresh")) {
      fresh = true;
      return json(200, { access_token: "A", token_type: "bearer", expires_in: 900 });
    }
    return answer(fresh);
  });
}

describe("authProvider", () => {
  it("login asks for cookies only and remembers the session marker and email, no token", async () => {
    serve(() => json(200, { access_token: "A", token_type: "bearer", expires_in: 900 }));
    expect(await authProvider.login({ email: "a@b.c", password: "pw" })).toEqual({ success: true, redirectTo: "/" });
    expect(calls[0]).toMatchObject({
      url: "/api/v1/auth/login",
      method: "POST",
      body: { email: "a@b.c", password: "pw", session: "cookie" },
    });
    expect(hasSessionMarker()).toBe(true);
    expect(getLastEmail()).toBe("a@b.c");
    expect({ ...localStorage }).toEqual({ "fm.session": "1", "fm.email": "a@b.c" });
  });

  it("a wrong password → success false with the server's message", async () => {
    serve(() => specError(401, "PermissionDenied", "invalid email or password"));
    expect(await authProvider.login({ email: "a@b.c", password: "x" })).toEqual({
      success: false,
      error: { name: "Login failed", message: "invalid email or password" },
    });
  });

  it("check / getIdentity / getPermissions from /auth/me", async () => {
    serve(() => json(200, me));
    expect(await authProvider.check()).toEqual({ authenticated: true });
    expect(await authProvider.getIdentity!()).toEqual({ id: "a@b.c", name: "A B", email: "a@b.c", roles: ["Admin", "Sales User"] });
    expect(await authProvider.getPermissions!()).toEqual(["Admin", "Sales User"]);
  });

  it("check: not logged in → redirect /login (a stale session's refresh cookie is tried first)", async () => {
    localStorage.setItem("fm.session", "1");
    serve((c) => (c.url.endsWith("/refresh") ? specError(401, "PermissionDenied", "expired") : json(200, { authenticated: false })));
    expect(await authProvider.check()).toEqual({ authenticated: false, redirectTo: "/login" });
    expect(calls.map((c) => c.url)).toEqual(["/api/v1/auth/me", "/api/v1/auth/refresh"]);
    expect(calls[1].body).toEqual({ session: "cookie" });
    expect(await authProvider.getIdentity!()).toBeNull();
  });

  it("check: never logged in on this browser → /login without trying a refresh", async () => {
    serve(() => json(200, { authenticated: false }));
    expect(await authProvider.check()).toEqual({ authenticated: false, redirectTo: "/login" });
    expect(calls.map((c) => c.url)).toEqual(["/api/v1/auth/me"]);
  });

  it("check: an expired cookie is refreshed silently", async () => {
    localStorage.setItem("fm.session", "1");
    afterRefresh((fresh) => json(200, fresh ? me : { authenticated: false }));
    expect(await authProvider.check()).toEqual({ authenticated: true });
    expect(calls.find((c) => c.url.endsWith("/refresh"))?.body).toEqual({ session: "cookie" });
    expect(hasSessionMarker()).toBe(true);
  });

  it("logout ends the cookie's session with {} and forgets the marker", async () => {
    localStorage.setItem("fm.session", "1");
    serve(() => new Response(null, { status: 204 }));
    expect(await authProvider.logout({})).toEqual({ success: true, redirectTo: "/login" });
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ url: "/api/v1/auth/logout", method: "POST", body: {} });
    expect(hasSessionMarker()).toBe(false);
  });

  it("logout with an expired access token refreshes first, so the session really ends", async () => {
    localStorage.setItem("fm.session", "1");
    afterRefresh((fresh) =>
      fresh ? new Response(null, { status: 204 }) : specError(401, "PermissionDenied", "token expired"),
    );
    expect((await authProvider.logout({})).success).toBe(true);
    expect(calls.map((c) => [c.url, c.body])).toEqual([
      ["/api/v1/auth/logout", {}],
      ["/api/v1/auth/refresh", { session: "cookie" }],
      ["/api/v1/auth/logout", {}],
    ]);
    expect(hasSessionMarker()).toBe(false);
  });

  it("logout still succeeds when the server refuses", async () => {
    serve(() => specError(401, "PermissionDenied", "no session to end"));
    expect((await authProvider.logout({})).success).toBe(true);
  });

  it("onError never logs out", async () => {
    expect(await authProvider.onError({ statusCode: 401 })).toEqual({});
  });
});
