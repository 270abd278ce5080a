// The route patterns of src/routes.ts, and the boot script (src/boot-prefetch.js) with the patterns
// vite/view-preload.ts fills in: it classifies a URL as the router and the app's own preloads do.
// @vitest-environment node
import fs from "node:fs";
import vm from "node:vm";
import { describe, expect, it } from "vitest";
import { matchPath } from "react-router";
import { BASENAME, ROUTES, deskPath, docPath, listPath, newDocPath, routePath, routeRegExp, viewOf } from "./routes";
import { withRoutes } from "../vite/view-preload.ts";

/** Runs the boot script (routes filled in) at `pathname`; what it fetched, preloaded and left. */
function runBoot(pathname: string, views: Record<string, string[]> = { list: ["/desk/assets/L.js"], form: ["/desk/assets/F.js"] }) {
  const source = withRoutes(fs.readFileSync(new URL("./boot-prefetch.js", import.meta.url), "utf8")).replace(
    "/*fm-view-chunks*/{}",
    JSON.stringify(views),
  );
  const fetched: string[] = [];
  const preloaded: string[] = [];
  const sandbox: Record<string, unknown> = {
    location: { pathname },
    fetch: (url: string) => {
      fetched.push(url);
      return Promise.resolve({ ok: true, json: () => Promise.resolve({}) });
    },
    document: {
      createElement: () => ({}),
      head: { appendChild: (l: { href: string; rel: string }) => preloaded.push(`${l.rel} ${l.href}`) },
    },
  };
  sandbox.window = sandbox;
  vm.runInNewContext(source, sandbox);
  const boot = sandbox.__fmBoot as { doctype: string | null } | undefined;
  return { fetched, preloaded, boot };
}

describe("routes", () => {
  it("RegExps match what the router's patterns match", () => {
    const paths = ["/", "/login", "/login/", "/app/Customer", "/app/Customer/", "/app/Sales%20Invoice/new",
      "/app/Customer/0b1c", "/app/Customer/0b1c/", "/app/Customer/0b1c/x", "/app", "/billing/overview"];
    for (const pattern of Object.values(ROUTES)) {
      for (const p of paths) {
        expect(routeRegExp(pattern).test(p), `${pattern} ${p}`).toBe(!!matchPath({ path: pattern, end: true }, p));
      }
    }
    expect(routeRegExp(ROUTES.form).exec("/app/Customer/0b1c")?.slice(1)).toEqual(["Customer", "0b1c"]);
  });

  it("classifies full pathnames: the view they open, nothing outside the basename", () => {
    expect(BASENAME).toBe("/desk");
    expect(deskPath("/desk")).toBe("/");
    expect(deskPath("/desk/app/X")).toBe("/app/X");
    expect(deskPath("/desktop")).toBeNull();
    expect(viewOf("/desk")).toBe("home");
    expect(viewOf("/desk/")).toBe("home");
    expect(viewOf("/desk/login")).toBe("login");
    expect(viewOf("/desk/app/Customer")).toBe("list");
    expect(viewOf("/desk/app/Customer/")).toBe("list");
    expect(viewOf("/desk/app/Customer/new")).toBe("form");
    expect(viewOf("/desk/app/Customer/0b1c")).toBe("form");
    expect(viewOf("/desk/app/Customer/0b1c/x")).toBeNull();
    expect(viewOf("/desk/billing/overview")).toBeNull();
    expect(viewOf("/app/Customer")).toBeNull();
  });

  it("builds the views' paths from the patterns, each parameter encoded", () => {
    expect(listPath("Sales Invoice")).toBe("/app/Sales%20Invoice");
    expect(newDocPath("Sales Invoice")).toBe("/app/Sales%20Invoice/new");
    expect(docPath("Customer", "a/b$&")).toBe("/app/Customer/a%2Fb%24%26");
    expect(routePath(ROUTES.form, { doctype: "Customer" })).toBe("/app/Customer/:id");
  });
});

describe("the boot script", () => {
  it("prefetches nothing when its patterns were not filled in", () => {
    const sandbox: Record<string, unknown> = { location: { pathname: "/desk/app/Customer" } };
    sandbox.window = sandbox;
    vm.runInNewContext(fs.readFileSync(new URL("./boot-prefetch.js", import.meta.url), "utf8"), sandbox);
    expect(sandbox.__fmBoot).toBeUndefined();
  });

  it("a list URL: the session, the DocTypes, the DocType's metadata and the list's chunks", () => {
    const r = runBoot("/desk/app/Sales%20Invoice");
    expect(r.boot?.doctype).toBe("Sales Invoice");
    expect(r.fetched).toEqual(["/api/v1/auth/me", "/api/meta/doctypes?show_in_desk=1", "/api/meta/Sales%20Invoice"]);
    expect(r.preloaded).toEqual(["modulepreload /desk/assets/L.js"]);
  });

  it("a form URL (a document or /new): the form's chunks", () => {
    for (const p of ["/desk/app/Customer/0b1c", "/desk/app/Customer/new/"]) {
      const r = runBoot(p);
      expect(r.boot?.doctype).toBe("Customer");
      expect(r.preloaded).toEqual(["modulepreload /desk/assets/F.js"]);
    }
  });

  it("agrees with viewOf (the app's preloads) on every kind of URL", () => {
    const urls = ["/desk", "/desk/", "/desk/login", "/desk/app/Customer", "/desk/app/Customer/1", "/desk/app/Customer/1/x",
      "/desk/billing", "/desktop", "/other"];
    for (const u of urls) {
      const r = runBoot(u);
      const view = viewOf(u);
      const expected = view === "list" ? ["modulepreload /desk/assets/L.js"] : view === "form" ? ["modulepreload /desk/assets/F.js"] : [];
      expect(r.preloaded, u).toEqual(expected);
      // the login page and URLs outside the Desk prefetch nothing
      expect(r.boot === undefined, u).toBe(view === "login" || deskPath(u) === null);
      if (r.boot) expect(r.boot.doctype, u).toBe(view === "list" || view === "form" ? "Customer" : null);
    }
  });

  it("a malformed DocType in the URL: no DocType, the app shows its own error", () => {
    const r = runBoot("/desk/app/%E0%A4%A");
    expect(r.boot?.doctype).toBeNull();
    expect(r.fetched).toHaveLength(2);
  });
});
