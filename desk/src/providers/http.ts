// The one HTTP client of the Desk: JSON in and out, cookie auth (HttpOnly `m_token`, same
// origin), the API's errors as ApiError (docs/reference/desk.md, "Data provider"), silent token
// refresh (with the HttpOnly `m_refresh` cookie: no token is ever in reach of JavaScript), waiting
// for a re-login when the session ended, and riding out a server that is down.
import type { MeReply } from "./types";
import {
  hadSession,
  hasSessionMarker,
  loggedIn,
  markExpired,
  markSessionSeen,
  sessionStore,
  setServerDown,
  waitForRelogin,
  waitForServerUp,
} from "./session";
import { ApiError, isSpecError, readBody, toApiError } from "./apiReply";

export { ApiError } from "./apiReply";

export interface HttpConfig {
  /** prefix for every path (tests against a server on another origin); "" in the browser */
  baseUrl: string;
  fetch: typeof fetch;
  /** ms between /health probes while the server is down */
  healthInterval: number;
  /** GET retry delays while down (the last one repeats) */
  backoff: number[];
}

const config: HttpConfig = {
  baseUrl: "",
  fetch: (...args) => globalThis.fetch(...args),
  healthInterval: 2000,
  backoff: [1000, 2000, 4000, 5000],
};

export function configureHttp(next: Partial<HttpConfig>): void {
  Object.assign(config, next);
}

export function apiUrl(path: string): string {
  return /^https?:\/\//.test(path) ? path : config.baseUrl + path;
}

const DOWN_STATUSES = new Set([502, 503, 504]);

export const SERVER_DOWN_MESSAGE =
  "Cannot reach the server. Your changes are kept: save again when it is back.";

// ---- refresh (single flight) ----------------------------------------------------------------

let refreshing: Promise<boolean> | null = null;
/** bumped by every successful refresh or login: a 401 on a request sent before it is stale */
let authGeneration = 0;

export function bumpAuthGeneration(): void {
  authGeneration++;
}

/**
 * POST /auth/refresh once for all concurrent callers; true when new cookies were set. The server
 * reads the refresh token from the `m_refresh` cookie (sent only to that path) and answers
 * without it in the JSON. Without the session marker this browser has not logged in since its
 * last logout, so there is no refresh cookie worth trying.
 */
export function refreshSession(): Promise<boolean> {
  if (refreshing) return refreshing;
  if (!hasSessionMarker()) return Promise.resolve(false);
  refreshing = (async () => {
    try {
      const res = await config.fetch(apiUrl("/api/v1/auth/refresh"), {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ session: "cookie" }),
      });
      if (!res.ok) return false;
      authGeneration++;
      return true;
    } catch {
      return false;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

// ---- server down --------------------------------------------------------------------------

let healthTimer: ReturnType<typeof setInterval> | null = null;

function flagDown(): void {
  setServerDown(true);
  if (healthTimer) return;
  healthTimer = setInterval(() => void probeHealth(), config.healthInterval);
}

function flagUp(): void {
  if (healthTimer) {
    clearInterval(healthTimer);
    healthTimer = null;
  }
  if (sessionStore.getSnapshot().serverDown) setServerDown(false);
}

let probing = false;
async function probeHealth(): Promise<boolean> {
  if (probing) return false;
  probing = true;
  try {
    const res = await config.fetch(apiUrl("/health"), { credentials: "same-origin" });
    if (res.ok) flagUp();
    return res.ok;
  } catch {
    return false;
  } finally {
    probing = false;
  }
}

function sleep(ms: number, signal?: AbortSignal | null): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(done, ms);
    const up = waitForServerUp();
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", abort);
      resolve();
    }
    function abort() {
      clearTimeout(t);
      reject(signal?.reason ?? new DOMException("aborted", "AbortError"));
    }
    if (signal?.aborted) return abort();
    signal?.addEventListener("abort", abort, { once: true });
    // Retry at once when the health probe sees the server come back.
    void up.then(done);
  });
}

// ---- the request ----------------------------------------------------------------------------

function isAuthPath(path: string): boolean {
  return path.includes("/api/v1/auth/");
}

function withJson(init: RequestInit | undefined): RequestInit {
  const headers = new Headers(init?.headers);
  if (!headers.has("Accept")) headers.set("Accept", "application/json");
  let body = init?.body;
  if (body !== undefined && body !== null && typeof body !== "string" && !(body instanceof FormData) &&
      !(body instanceof Blob) && !(body instanceof URLSearchParams) && !(body instanceof ArrayBuffer)) {
    body = JSON.stringify(body);
  }
  if (typeof body === "string" && !headers.has("Content-Type")) {
    headers.set("Content-Type", "application/json");
  }
  return { ...init, body, headers, credentials: "same-origin" };
}

/** RequestInit whose body may also be a plain object (sent as JSON). */
export type ApiInit = Omit<RequestInit, "body"> & { body?: BodyInit | object | null };

/**
 * fetch a path of the API and return its JSON (undefined for 204). Throws ApiError.
 * 401 → one shared refresh → retry; if the session ended, waits for the re-login modal.
 * Server unreachable → GETs retry until it answers, other methods fail at once (statusCode 0).
 */
export async function apiFetch<T = unknown>(path: string, init?: ApiInit): Promise<T> {
  const req = withJson(init as RequestInit | undefined);
  const method = (req.method ?? "GET").toUpperCase();
  const retriesWhenDown = method === "GET" || method === "HEAD";
  const auth = isAuthPath(path);
  const signal = req.signal ?? undefined;
  let authRetried = false;
  let downAttempt = 0;

  for (;;) {
    if (!auth && sessionStore.getSnapshot().expired) await waitForRelogin(signal);
    const generation = authGeneration;
    let res: Response;
    try {
      res = await config.fetch(apiUrl(path), req);
    } catch (e) {
      if (signal?.aborted || (e instanceof DOMException && e.name === "AbortError")) throw e;
      // fetch rejects with a TypeError when nothing answered at all.
      flagDown();
      if (!retriesWhenDown) throw new ApiError(0, "NetworkError", SERVER_DOWN_MESSAGE);
      await sleep(config.backoff[Math.min(downAttempt++, config.backoff.length - 1)], signal);
      continue;
    }

    if (DOWN_STATUSES.has(res.status)) {
      const body = await readBody(res);
      // A 503 the server itself chose (e.g. "no job queue") while /health is fine is an answer,
      // not an outage: only treat it as one when the probe fails too.
      const answered = isSpecError(body) && (await probeHealth());
      if (!answered) {
        flagDown();
        if (!retriesWhenDown) throw new ApiError(0, "NetworkError", SERVER_DOWN_MESSAGE);
        await sleep(config.backoff[Math.min(downAttempt++, config.backoff.length - 1)], signal);
        continue;
      }
      throw toApiError(res.status, body, res.statusText);
    }
    // Anything else is an answer from the server.
    downAttempt = 0;
    flagUp();

    if (res.status === 401 && !auth && !authRetried) {
      authRetried = true;
      clearPrimedSession();
      if (generation !== authGeneration) continue; // someone refreshed meanwhile
      if (await refreshSession()) continue;
      if (hadSession()) {
        markExpired();
        await waitForRelogin(signal);
        continue;
      }
      // Never logged in on this page: a plain 401 (the router sends the user to /login).
    }

    const body = await readBody(res);
    if (!res.ok) throw toApiError(res.status, body, res.statusText);
    return body as T;
  }
}

// ---- login / session helpers used by authProvider and SessionGuards ------------------------

/** The JSON of login and refresh with `session: "cookie"` (no refresh_token: it is a cookie). */
export interface TokenReply {
  access_token: string;
  token_type: string;
  expires_in: number;
}

/**
 * POST /auth/login with `session: "cookie"`: the server sets the HttpOnly `m_token` and
 * `m_refresh` cookies; on success waiting requests resume. Nothing from the answer is stored.
 */
export async function login(email: string, password: string): Promise<TokenReply> {
  const tokens = await apiFetch<TokenReply>("/api/v1/auth/login", {
    method: "POST",
    body: { email, password, session: "cookie" },
  });
  authGeneration++;
  clearPrimedSession();
  loggedIn(email);
  return tokens;
}

// An authenticated /auth/me reply fetched at boot (src/prefetch.ts): it answers the session
// checks of the first seconds (RequireAuth's, Refine's on the first route) instead of asking the
// server again. Forgotten at any login, logout or ended session.
const PRIMED_WINDOW = 5_000;
let primedSession: { me: MeReply; until: number } | null = null;

export function primeSession(me: MeReply, fetchedAt = Date.now()): void {
  primedSession = me.authenticated ? { me, until: fetchedAt + PRIMED_WINDOW } : null;
  if (me.authenticated) markSessionSeen();
}

export function clearPrimedSession(): void {
  primedSession = null;
}

function takePrimedSession(): MeReply | null {
  if (primedSession && Date.now() <= primedSession.until && !sessionStore.getSnapshot().expired) {
    return primedSession.me;
  }
  primedSession = null;
  return null;
}

/**
 * The current user from GET /auth/me, refreshing an expired cookie first. When the session
 * ended while this page was in use (and `relogin` is set), waits for the re-login modal.
 */
export async function currentSession(relogin = true): Promise<MeReply> {
  if (sessionStore.getSnapshot().expired) await waitForRelogin();
  let me = takePrimedSession() ?? (await apiFetch<MeReply>("/api/v1/auth/me"));
  if (!me.authenticated && (await refreshSession())) {
    me = await apiFetch<MeReply>("/api/v1/auth/me");
  }
  if (!me.authenticated && relogin && hadSession()) {
    markExpired();
    await waitForRelogin();
    me = await apiFetch<MeReply>("/api/v1/auth/me");
  }
  if (me.authenticated) markSessionSeen();
  return me;
}

/** true when the session is alive (after a refresh or a re-login if needed). */
export async function ensureSession(): Promise<boolean> {
  return (await currentSession(true)).authenticated;
}
