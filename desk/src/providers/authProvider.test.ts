import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { authProvider } from "./authProvider";
import { configureHttp } from "./http";
import { getLastEmail, getRefreshToken, resetSessionForTests } from "./session";
import { json, mockFetch, specError, type Handler } from "./test-utils";

const realFetch = globalThis.fetch;
let calls: ReturnType<typeof mockFetch>["calls"];
function use(handler: Handler) {
  const m = mockFetch(handler);
  calls = m.calls;
  configureHttp({ fetch: m.fn });
}
const me = { authenticated: true, id: "a@b.c", email: "a@b.c", name: "A B", roles: ["Admin", "Sales User"] };

beforeEach(() => resetSessionForTests());
afterEach(() => configureHttp({ fetch: (...a) => realFetch(...a) }));

describe("authProvider", () => {
  it("login stores the refresh token and email", async () => {
    use(() => json(200, { access_token: "A", token_type: "bearer", expires_in: 900, refresh_token: "R" }));
    expect(await authProvider.login({ email: "a@b.c", password: "pw" })).toEqual({ success: true, redirectTo: "/" });
    expect(calls[0]).toMatchObject({ url: "/api/v1/auth/login", method: "POST", body: { email: "a@b.c", password: "pw" } });
    expect(getRefreshToken()).toBe("R");
    expect(getLastEmail()).toBe("a@b.c");
  });

  it("a wrong password → success false with the server's message", async () => {
    use(() => specError(401, "PermissionDenied", "invalid email or password"));
    expect(await authProvider.login({ email: "a@b.c", password: "x" })).toEqual({
      success: false,
      error: { name: "Login failed", message: "invalid email or password" },
    });
  });

  it("check / getIdentity / getPermissions from /auth/me", async () => {
    use(() => json(200, me));
    expect(await authProvider.check()).toEqual({ authenticated: true });
    expect(await authProvider.getIdentity!()).toEqual({ id: "a@b.c", name: "A B", email: "a@b.c", roles: ["Admin", "Sales User"] });
    expect(await authProvider.getPermissions!()).toEqual(["Admin", "Sales User"]);
  });

  it("check: not logged in → redirect /login (a stale refresh token is tried first)", async () => {
    localStorage.setItem("fm.refresh_token", "stale");
    use((c) => (c.url.endsWith("/refresh") ? specError(401, "PermissionDenied", "expired") : json(200, { authenticated: false })));
    expect(await authProvider.check()).toEqual({ authenticated: false, redirectTo: "/login" });
    expect(calls.map((c) => c.url)).toEqual(["/api/v1/auth/me", "/api/v1/auth/refresh"]);
    expect(await authProvider.getIdentity!()).toBeNull();
  });

  it("check: an expired cookie is refreshed silently", async () => {
    localStorage.setItem("fm.refresh_token", "R");
    let fresh = false;
    use((c) => {
      if (c.url.endsWith("/refresh")) {
        fresh = true;
        return json(200, { access_token: "A", token_type: "bearer", expires_in: 900 });
      }
      return json(200, fresh ? me : { authenticated: false });
    });
    expect(await authProvider.check()).toEqual({ authenticated: true });
    expect(getRefreshToken()).toBe("R");
  });

  it("logout revokes and forgets the tokens", async () => {
    localStorage.setItem("fm.refresh_token", "R");
    use(() => new Response(null, { status: 204 }));
    expect(await authProvider.logout({})).toEqual({ success: true, redirectTo: "/login" });
    expect(calls[0]).toMatchObject({ url: "/api/v1/auth/logout", method: "POST", body: { refresh_token: "R" } });
    expect(getRefreshToken()).toBeNull();
  });

  it("logout still succeeds when the server refuses", async () => {
    use(() => specError(401, "PermissionDenied", "no session to end"));
    expect((await authProvider.logout({})).success).toBe(true);
  });

  it("onError never logs out", async () => {
    expect(await authProvider.onError({ statusCode: 401 })).toEqual({});
  });
});
