// Refine AuthProvider on /api/v1/auth/* (docs/reference/desk.md, "Auth"). Both tokens travel in
// HttpOnly cookies the server sets (`m_token`, and `m_refresh` for silent refresh): the Desk never
// sees or stores them.
import type { AuthProvider } from "@refinedev/core";
import { ApiError, apiFetch, clearPrimedSession, currentSession, login, refreshSession } from "./http";
import { forgetSession } from "./session";
import type { CurrentUser } from "./types";
import { ROUTES } from "../routes";

export interface Identity {
  id: string;
  name: string;
  email: string;
  roles: string[];
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export const authProvider: AuthProvider = {
  async login(params: { email?: string; username?: string; password?: string; redirectTo?: string }) {
    try {
      await login(params.email ?? params.username ?? "", params.password ?? "");
      return { success: true, redirectTo: params.redirectTo ?? ROUTES.home };
    } catch (e) {
      return { success: false, error: { name: "Login failed", message: message(e) } };
    }
  },

  async logout() {
    clearPrimedSession();
    const end = () => apiFetch("/api/v1/auth/logout", { method: "POST", body: {} });
    try {
      // The m_token cookie names the session; the server revokes it and clears both cookies.
      await end();
    } catch (e) {
      // An expired access token cannot name the session, which would stay alive behind its
      // refresh cookie: refresh once (new cookies) and end it with the fresh access token.
      if (e instanceof ApiError && e.statusCode === 401 && (await refreshSession())) {
        await end().catch(() => {});
      }
      // Otherwise already ended, or the server is unreachable: forget it locally all the same.
    }
    forgetSession();
    return { success: true, redirectTo: ROUTES.login };
  },

  async check() {
    try {
      const me = await currentSession(true);
      return me.authenticated ? { authenticated: true } : { authenticated: false, redirectTo: ROUTES.login };
    } catch (e) {
      return {
        authenticated: false,
        redirectTo: ROUTES.login,
        error: e instanceof ApiError ? e : new Error(message(e)),
      };
    }
  },

  async getIdentity(): Promise<Identity | null> {
    const me = await currentSession(false).catch(() => null);
    if (!me?.authenticated) return null;
    const u = me as CurrentUser;
    return { id: u.id, name: u.name, email: u.email, roles: u.roles };
  },

  async getPermissions() {
    const me = await currentSession(false).catch(() => null);
    return me?.authenticated ? me.roles : [];
  },

  // Errors never log the user out: a 401 is handled by http.ts (refresh, re-login modal).
  async onError() {
    return {};
  },
};
