// The Desk application: router (basename /desk), Refine with the Framework M providers, one
// resource per DocType plus the plugins' resources, and the routes of src/routes.ts
// (docs/reference/desk.md, "Routes").
import { Suspense, useMemo, type ReactNode } from "react";
import { BrowserRouter, Navigate, Route, Routes, useLocation, useParams, useSearchParams } from "react-router";
import { Refine, useIsAuthenticated, type ResourceProps } from "@refinedev/core";
import routerProvider from "@refinedev/react-router";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { App as AntApp, ConfigProvider } from "antd";
import type { PluginRegistry } from "@framework-m/sdk";
import {
  authProvider,
  dataProvider,
  liveProvider,
  SessionGuards,
  useDoctypes,
  type DocTypeSummary,
} from "./providers";
import { DeskLayout, PageSpinner } from "./shell/DeskLayout";
import { deskDocTypes } from "./shell/menu";
import { iconFor } from "./shell/icons";
import { lazyWithPreload } from "./lazyPreload";
import { BASENAME, ROUTES, listPath, newDocPath, routePath, viewOf } from "./routes";

// Views are separate chunks: the initial download is the shell only.
const LoginPage = lazyWithPreload(() => import("./shell/LoginPage"));
const HomePage = lazyWithPreload(() => import("./shell/HomePage"));
const NotFound = lazyWithPreload(() => import("./shell/NotFound"));
const ListView = lazyWithPreload(() => import("./views/ListView"));
const FormView = lazyWithPreload(() => import("./views/FormView"));

/**
 * Loads the view of a Desk URL (pathname under the basename /desk) ahead of the first render,
 * so it renders without suspending. Never rejects: a failed load is retried (and reported) by
 * the render.
 */
export function preloadRoute(pathname: string): Promise<void> {
  const views = { home: HomePage, login: LoginPage, list: ListView, form: FormView };
  const name = viewOf(pathname);
  const view = name ? views[name] : null;
  return view ? view.preload().then(() => undefined, () => undefined) : Promise.resolve();
}

function noRetryOn4xx(count: number, error: unknown): boolean {
  const status = (error as { statusCode?: number } | null)?.statusCode;
  if (typeof status === "number" && status >= 400 && status < 500) return false;
  return count < 2;
}

// One client for Refine and for the metadata hooks, which run above <Refine> because the
// resources are built from them.
export const queryClient = new QueryClient({
  defaultOptions: { queries: { retry: noRetryOn4xx, refetchOnWindowFocus: false } },
});

export function docTypeResources(doctypes: DocTypeSummary[] | undefined): ResourceProps[] {
  return deskDocTypes(doctypes).map((d) => ({
    name: d.name,
    list: listPath(d.name),
    create: newDocPath(d.name),
    edit: routePath(ROUTES.form, { doctype: d.name }),
    meta: {
      label: d.label || d.name,
      group: d.ui_meta?.group,
      icon: iconFor(d.ui_meta?.icon),
      canDelete: d.permissions?.delete,
    },
  }));
}

/** Remounts the view when the DocType (or document) changes, so no state leaks across. */
function KeyedList() {
  const { doctype = "" } = useParams();
  return <ListView key={doctype} doctype={doctype} />;
}

function KeyedForm({ isNew }: { isNew?: boolean }) {
  const { doctype = "", id = "" } = useParams();
  const docId = isNew ? undefined : id;
  return <FormView key={`${doctype}/${docId ?? "new"}`} doctype={doctype} id={docId} />;
}

/**
 * Guards the Desk like Refine's <Authenticated>, except that a re-check of the session (after a
 * re-login, say) keeps the page mounted: <Authenticated> unmounts its children while the check
 * runs, which would throw away a half-filled form.
 */
function RequireAuth({ children }: { children: ReactNode }) {
  const { data, isLoading } = useIsAuthenticated();
  const location = useLocation();
  if (!data && isLoading) return <PageSpinner />;
  if (!data?.authenticated) {
    const here = location.pathname + location.search;
    return (
      <Navigate to={here && here !== "/" ? `${ROUTES.login}?to=${encodeURIComponent(here)}` : ROUTES.login} replace />
    );
  }
  return <>{children}</>;
}

/** /login, or where the user wanted to go once they are logged in. The page stays mounted while
 *  a login attempt re-checks the session, so its error message survives. */
function LoginRoute() {
  const { data } = useIsAuthenticated();
  const [params] = useSearchParams();
  if (data?.authenticated) return <Navigate to={params.get("to") || ROUTES.home} replace />;
  return <LoginPage />;
}

function DeskRefine({ registry }: { registry: PluginRegistry }) {
  const { data: doctypes } = useDoctypes();
  const resources = useMemo(() => {
    const own = docTypeResources(doctypes);
    const names = new Set(own.map((r) => r.name));
    return [...own, ...registry.resources.filter((r) => !names.has(r.name))];
  }, [doctypes, registry]);

  return (
    <Refine
      routerProvider={routerProvider}
      dataProvider={dataProvider}
      authProvider={authProvider}
      liveProvider={liveProvider}
      resources={resources}
      options={{
        liveMode: "auto",
        syncWithLocation: false,
        warnWhenUnsavedChanges: false,
        disableTelemetry: true,
        reactQuery: { clientConfig: queryClient },
      }}
    >
      <Suspense fallback={<PageSpinner />}>
      <Routes>
        <Route path={ROUTES.login} element={<LoginRoute />} />
        <Route
          element={
            <RequireAuth>
              <DeskLayout registry={registry} />
            </RequireAuth>
          }
        >
          <Route index element={<HomePage registry={registry} />} />
          <Route path={ROUTES.list} element={<KeyedList />} />
          <Route path={ROUTES.create} element={<KeyedForm isNew />} />
          <Route path={ROUTES.form} element={<KeyedForm />} />
          {registry.routes.map((r) => (
            <Route key={r.path} path={r.path} element={<r.component />} />
          ))}
          <Route path="*" element={<NotFound />} />
        </Route>
      </Routes>
      </Suspense>
      <SessionGuards />
    </Refine>
  );
}

export function App({ registry }: { registry: PluginRegistry }) {
  return (
    <BrowserRouter basename={BASENAME}>
      <QueryClientProvider client={queryClient}>
        <ConfigProvider>
          <AntApp>
            <DeskRefine registry={registry} />
          </AntApp>
        </ConfigProvider>
      </QueryClientProvider>
    </BrowserRouter>
  );
}
