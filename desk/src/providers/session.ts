// Session and connectivity state shared by http.ts, the live stream and <SessionGuards/>.
// A tiny external store (useSyncExternalStore-friendly) instead of React context, because
// http.ts runs outside React.

export interface SessionSnapshot {
  /** the session ended while the user was working; requests wait for a re-login */
  expired: boolean;
  /** the server does not answer; GETs retry, mutations fail at once */
  serverDown: boolean;
}

type Listener = () => void;

// The refresh token is never in reach of JavaScript: the server keeps it in the HttpOnly m_refresh
// cookie (login and refresh with `session: "cookie"`). What the page stores is not secret: the last
// email (to prefill the re-login modal) and a marker that this browser logged in, so a 401 is worth
// a silent refresh only when a refresh cookie can exist.
const SESSION_KEY = "fm.session";
const EMAIL_KEY = "fm.email";
/** Where Desks before the m_refresh cookie kept the refresh token; deleted at start. */
const LEGACY_REFRESH_KEY = "fm.refresh_token";

let snapshot: SessionSnapshot = { expired: false, serverDown: false };
const listeners = new Set<Listener>();
/** true once this page has seen an authenticated session (login, or /auth/me said so) */
let sessionSeen = false;
/** the session marker when localStorage is unavailable */
let markerInMemory = false;
let reloginWaiters: Array<() => void> = [];
let upWaiters: Array<() => void> = [];
const loginListeners = new Set<Listener>();
const logoutListeners = new Set<Listener>();

function set(next: Partial<SessionSnapshot>): void {
  const merged = { ...snapshot, ...next };
  if (merged.expired === snapshot.expired && merged.serverDown === snapshot.serverDown) return;
  snapshot = merged;
  for (const l of [...listeners]) l();
}

export const sessionStore = {
  getSnapshot: (): SessionSnapshot => snapshot,
  subscribe(l: Listener): () => void {
    listeners.add(l);
    return () => listeners.delete(l);
  },
};

function storage(): Storage | undefined {
  try {
    return typeof localStorage === "undefined" ? undefined : localStorage;
  } catch {
    return undefined; // storage disabled (privacy mode): the session marker lives in memory
  }
}

/** Deletes a refresh token an older Desk left in localStorage (it is never read any more). */
export function forgetLegacyTokens(): void {
  storage()?.removeItem(LEGACY_REFRESH_KEY);
}
forgetLegacyTokens();

/** Whether this browser logged in and has not logged out since (a refresh cookie may exist). */
export function hasSessionMarker(): boolean {
  const s = storage();
  return s ? s.getItem(SESSION_KEY) === "1" : markerInMemory;
}

export function getLastEmail(): string {
  return storage()?.getItem(EMAIL_KEY) ?? "";
}

/** After a successful login: the session marker, and the email for the re-login modal. */
export function rememberLogin(email?: string): void {
  const s = storage();
  markerInMemory = true;
  s?.setItem(SESSION_KEY, "1");
  if (email) s?.setItem(EMAIL_KEY, email);
}

export function markSessionSeen(): void {
  sessionSeen = true;
}

export function hadSession(): boolean {
  return sessionSeen;
}

/** Logout: forget the session marker; anything waiting for a re-login is not resumed. */
export function forgetSession(): void {
  markerInMemory = false;
  storage()?.removeItem(SESSION_KEY);
  sessionSeen = false;
  set({ expired: false });
  for (const l of [...logoutListeners]) l();
}

export function markExpired(): void {
  set({ expired: true });
}

/** Resolves when the user has logged in again (immediately if the session is not expired). */
export function waitForRelogin(signal?: AbortSignal): Promise<void> {
  if (!snapshot.expired) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = () => {
      signal?.removeEventListener("abort", abort);
      resolve();
    };
    const abort = () => {
      reloginWaiters = reloginWaiters.filter((w) => w !== done);
      reject(signal?.reason ?? new DOMException("aborted", "AbortError"));
    };
    if (signal?.aborted) return abort();
    signal?.addEventListener("abort", abort, { once: true });
    reloginWaiters.push(done);
  });
}

/** A login succeeded (first login or re-login): resume every waiting request. */
export function loggedIn(email?: string): void {
  rememberLogin(email);
  sessionSeen = true;
  set({ expired: false });
  const waiters = reloginWaiters;
  reloginWaiters = [];
  for (const w of waiters) w();
  for (const l of [...loginListeners]) l();
}

export function onLogin(l: Listener): () => void {
  loginListeners.add(l);
  return () => loginListeners.delete(l);
}

export function onLogout(l: Listener): () => void {
  logoutListeners.add(l);
  return () => logoutListeners.delete(l);
}

export function setServerDown(down: boolean): void {
  set({ serverDown: down });
  if (!down) {
    const waiters = upWaiters;
    upWaiters = [];
    for (const w of waiters) w();
  }
}

/** Resolves when the server is flagged up again. */
export function waitForServerUp(): Promise<void> {
  if (!snapshot.serverDown) return Promise.resolve();
  return new Promise((resolve) => upWaiters.push(resolve));
}

/** Tests only: back to a fresh page. */
export function resetSessionForTests(): void {
  snapshot = { expired: false, serverDown: false };
  sessionSeen = false;
  markerInMemory = false;
  reloginWaiters = [];
  upWaiters = [];
  storage()?.removeItem(SESSION_KEY);
  storage()?.removeItem(EMAIL_KEY);
}
