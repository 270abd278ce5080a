import { describe, expect, it } from "vitest";
import { PluginRegistry, definePlugin, type FrameworkMPlugin } from "./index.ts";
import { loadPlugins } from "../boot.ts";

const Page = () => null;
const Other = () => null;

describe("PluginRegistry", () => {
  it("merges plugins sharing an app_id: menus, routes and resources concatenated", async () => {
    const r = new PluginRegistry();
    r.register(definePlugin({ name: "@billing/a", app_id: "billing", menus: [{ key: "a", label: "A", path: "/a" }], routes: [{ path: "/a", component: Page }], resources: [{ name: "Invoice" }] }));
    r.register({ name: "@stock/x", app_id: "stock", menus: [{ key: "x", label: "X", path: "/x" }] });
    r.register({ name: "@billing/b", app_id: "billing", menus: [{ key: "b", label: "B", path: "/b" }], routes: [{ path: "/b", component: Other }], resources: [{ name: "Payment" }] });
    await r.initAll();
    expect(r.plugins.map((p) => p.name)).toEqual(["@billing/a", "@stock/x"]);
    const billing = r.plugins[0]!;
    expect(billing.menus!.map((m) => m.key)).toEqual(["a", "b"]);
    expect(billing.routes!.map((x) => x.path)).toEqual(["/a", "/b"]);
    expect(billing.resources!.map((x) => x.name)).toEqual(["Invoice", "Payment"]);
    expect(r.menus.map((m) => m.key)).toEqual(["a", "x", "b"]);
    expect(r.menus).toBe(r.menus); // stable identity between changes (React deps)
    expect(r.routes.map((x) => x.component)).toEqual([Page, Other]);
    expect(r.failures).toEqual([]);
  });

  it("reports and drops duplicate menu keys and route paths, keeping the rest of the plugin", async () => {
    const r = new PluginRegistry();
    r.register({ name: "first", menus: [{ key: "k", label: "K", path: "/k" }], routes: [{ path: "/k", component: Page }] });
    r.register({ name: "second", menus: [{ key: "k", label: "K2", path: "/k2" }, { key: "ok", label: "OK", path: "/ok" }], routes: [{ path: "/k", component: Other }, { path: "/ok", component: Other }] });
    await r.initAll();
    expect(r.menus.map((m) => m.label)).toEqual(["K", "OK"]);
    expect(r.routes.map((x) => [x.path, x.component])).toEqual([["/k", Page], ["/ok", Other]]);
    expect(r.failures).toEqual([
      { plugin: "second", phase: "register", message: 'duplicate menu key "k" dropped' },
      { plugin: "second", phase: "register", message: 'duplicate route path "/k" dropped' },
    ]);
  });

  it("rejects malformed plugins at register time", () => {
    const r = new PluginRegistry();
    r.register({} as FrameworkMPlugin);
    r.register({ name: "m", menus: [{ label: "no key" } as never] });
    expect(r.failures.map((f) => [f.plugin, f.phase])).toEqual([["(unnamed)", "register"], ["m", "register"]]);
  });

  it("runs onInit in order with the registry; a plugin throwing (sync or async) is reported and excluded", async () => {
    const r = new PluginRegistry();
    const seen: string[] = [];
    r.register({ name: "ok", app_id: "app", menus: [{ key: "ok", label: "OK", path: "/ok" }], onInit: async ({ registry }) => { await Promise.resolve(); seen.push(`ok:${registry === r}`); } });
    r.register({ name: "sync", app_id: "app", menus: [{ key: "s", label: "S", path: "/s" }], routes: [{ path: "/s", component: Page }], onInit: () => { throw new Error("boom"); } });
    r.register({ name: "async", resources: [{ name: "X" }], onInit: async () => { seen.push("async"); throw new TypeError("later"); } });
    r.register({ name: "after", onInit: () => { seen.push("after"); } });
    expect(r.plugins).toEqual([]); // nothing counts before initialisation
    await expect(r.initAll()).resolves.toBeUndefined();
    expect(seen).toEqual(["ok:true", "async", "after"]);
    expect(r.plugins.map((p) => p.name)).toEqual(["ok", "after"]);
    expect(r.plugins[0]!.menus!.map((m) => m.key)).toEqual(["ok"]); // sync's menu dropped from the merged app
    expect(r.menus.map((m) => m.key)).toEqual(["ok"]);
    expect(r.routes).toEqual([]);
    expect(r.resources).toEqual([]);
    expect(r.failures).toEqual([
      { plugin: "sync", phase: "init", message: "boom" },
      { plugin: "async", phase: "init", message: "later" },
    ]);
  });

  it("orders menus by `order`, keeping registration order otherwise", async () => {
    const r = new PluginRegistry();
    r.register({ name: "p", menus: [{ key: "c", label: "C", path: "/c" }, { key: "b", label: "B", path: "/b", order: 2 }, { key: "a", label: "A", path: "/a", order: 1 }, { key: "d", label: "D", path: "/d" }] });
    await r.initAll();
    expect(r.menus.map((m) => m.key)).toEqual(["a", "b", "c", "d"]);
  });
});

describe("loadPlugins (boot)", () => {
  it("registers what loads, reports load failures and bad modules, and never throws", async () => {
    const good = definePlugin({ name: "good", menus: [{ key: "g", label: "G", path: "/g" }] });
    const r = await loadPlugins([
      { name: "good", load: async () => ({ default: good }) },
      { name: "rejects", load: () => Promise.reject(new Error("chunk 404")) },
      { name: "throws", load: () => { throw new Error("sync throw"); } },
      { name: "nodefault", load: async () => ({}) as never },
      { name: "badinit", load: async () => ({ default: { name: "badinit", onInit: () => { throw new Error("init failed"); } } }) },
    ]);
    expect(r.plugins.map((p) => p.name)).toEqual(["good"]);
    expect(r.menus.map((m) => m.key)).toEqual(["g"]);
    expect(r.failures).toEqual([
      { plugin: "rejects", phase: "load", message: "chunk 404" },
      { plugin: "throws", phase: "load", message: "sync throw" },
      { plugin: "nodefault", phase: "load", message: expect.stringMatching(/no default export/) },
      { plugin: "badinit", phase: "init", message: "init failed" },
    ]);
  });

  it("loads the virtual module's plugins by default", async () => {
    const r = await loadPlugins();
    expect(r).toBeInstanceOf(PluginRegistry);
    expect(r.failures).toEqual([]);
  });
});
