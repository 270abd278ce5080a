// Refine AuthProvider on /api/v1/auth/* (SPEC §6). The access token travels in the HttpOnly
// cookie the server sets; the refresh token is kept in localStorage for silent refresh.
import type { AuthProvider } from "@refinedev/core";
import { ApiError, apiFetch, clearPrimedSession, currentSession, login } from "./http";
import { forgetSession, getRefreshToken } from "./session";
import type { CurrentUser } from "./types";

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
      return { success: true, redirectTo: params.redirectTo ?? "/" };
    } catch (e) {
      return { success: false, error: { name: "Login failed", message: message(e) } };
    }
  },

  async logout() {
    clearPrimedSession();
    const refresh = getRefreshToken();
    try {
      // The refresh token names the session, so both tokens are revoked.
      await apiFetch("/api/v1/auth/logout", {
        method: "POST",
        body: refresh ? { refresh_token: refresh } : {},
      });
    } catch {
      // Already ended, or the server is unreachable: forget it locally all the same.
    }
    forgetSession();
    return { success: true, redirectTo: "/login" };
  },

  async check() {
    try {
      const me = await currentSession(true);
      return me.authenticated ? { authenticated: true } : { authenticated: false, redirectTo: "/login" };
    } catch (e) {
      return {
        authenticated: false,
        redirectTo: "/login",
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
