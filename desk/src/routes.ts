// The Desk's routes, the one place for their path patterns: the router (App.tsx) mounts ROUTES,
// the views link with the path builders below, and the first screen's preloads classify a URL
// with the same patterns (App.tsx's preloadRoute, src/prefetch.ts, and src/boot-prefetch.js,
// whose patterns vite/view-preload.ts fills in from bootRoutes()).
// docs/reference/desk.md, "Routes". No imports: the Vite config loads this module too.

/** The router's basename: the Desk is served under /desk. */
export const BASENAME = "/desk";

/** The router's path patterns (react-router syntax: a :param is one path segment). */
export const ROUTES = {
  home: "/",
  login: "/login",
  list: "/app/:doctype",
  create: "/app/:doctype/new",
  form: "/app/:doctype/:id",
} as const;

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * A RegExp of the pathnames a route pattern matches (each :param captured, in order; a trailing
 * slash allowed, as the router allows it), below `prefix` (e.g. BASENAME for a full pathname).
 */
export function routeRegExp(pattern: string, prefix = ""): RegExp {
  const path = (prefix + pattern).replace(/\/+$/, "");
  const body = path
    .split("/")
    .map((s) => (s.startsWith(":") ? "([^/]+)" : escapeRegExp(s)))
    .join("\\/");
  return new RegExp(`^${body}\\/?$`);
}

/** The views a Desk URL can open ahead of the router (the form's pattern matches /new too). */
export type DeskView = "home" | "login" | "list" | "form";

const VIEW_PATTERNS: [DeskView, RegExp][] = [
  ["home", routeRegExp(ROUTES.home)],
  ["login", routeRegExp(ROUTES.login)],
  ["list", routeRegExp(ROUTES.list)],
  ["form", routeRegExp(ROUTES.form)],
];

/** The pathname inside the basename ("/" for the basename itself), or null outside it. */
export function deskPath(pathname: string): string | null {
  if (pathname === BASENAME) return "/";
  return pathname.startsWith(`${BASENAME}/`) ? pathname.slice(BASENAME.length) : null;
}

/** The view a full pathname (basename included) opens, or null (a plugin route, not found, outside). */
export function viewOf(pathname: string): DeskView | null {
  const p = deskPath(pathname);
  if (p === null) return null;
  return VIEW_PATTERNS.find(([, re]) => re.test(p))?.[0] ?? null;
}

/**
 * The patterns src/boot-prefetch.js needs, as RegExp sources of full pathnames (basename
 * included); list and form capture the DocType first.
 */
export function bootRoutes(): { desk: string; login: string; list: string; form: string } {
  return {
    desk: `^${escapeRegExp(BASENAME)}(?:\\/|$)`,
    login: routeRegExp(ROUTES.login, BASENAME).source,
    list: routeRegExp(ROUTES.list, BASENAME).source,
    form: routeRegExp(ROUTES.form, BASENAME).source,
  };
}

/** A route pattern with the given :params filled in (URL-encoded); the others are kept. */
export function routePath(pattern: string, params: Record<string, string | number>): string {
  return pattern.replace(/:(\w+)/g, (p: string, name: string) =>
    Object.hasOwn(params, name) ? encodeURIComponent(String(params[name])) : p,
  );
}

/** The list of a DocType (ROUTES.list). */
export function listPath(doctype: string): string {
  return routePath(ROUTES.list, { doctype });
}

/** A new document's form (ROUTES.create). */
export function newDocPath(doctype: string): string {
  return routePath(ROUTES.create, { doctype });
}

/** A document's form (ROUTES.form); `id` is the document's id. */
export function docPath(doctype: string, id: string | number): string {
  return routePath(ROUTES.form, { doctype, id });
}
