// @vitest-environment node
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  PluginScanError,
  appsDirsFromEnv,
  generateModule,
  pluginDirsFromEnv,
  modeFromEnv,
  safeName,
  scanPlugins,
  type ScannedPlugin,
} from "./framework-m-vite-plugin.ts";

let tmp: string;
const ws = () => path.join(tmp, "desk-plugins");
const apps = () => path.join(tmp, "apps");

function write(rel: string, text: string): string {
  const f = path.join(tmp, rel);
  fs.mkdirSync(path.dirname(f), { recursive: true });
  fs.writeFileSync(f, text);
  return f;
}
const json = (v: unknown) => JSON.stringify(v);

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "deskcomp-scan-"));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("scanPlugins", () => {
  it("finds the documented form (docs/reference/desk.md, \"Plugins\") in apps/*/frontend and skips package.json without the key", () => {
    write("apps/billing/frontend/package.json", json({ name: "@billing/desk", "framework-m": { type: "frontend-module", plugin: "./src/plugin.config.ts" } }));
    const entry = write("apps/billing/frontend/src/plugin.config.ts", "export default {}");
    write("apps/stock/frontend/package.json", json({ name: "not-a-plugin" }));
    write("apps/hr/doctypes/x.json", "{}"); // an app without a frontend
    expect(scanPlugins({ workspaceDir: ws(), appsDirs: [apps()] })).toEqual([
      { name: "@billing/desk", safeName: "billing-desk", packageJson: path.join(apps(), "billing/frontend/package.json"), entry },
    ]);
  });

  it("accepts `true` (module, then main) and `entry`, and resolves an extensionless path", () => {
    write("desk-plugins/a/package.json", json({ name: "a", module: "./a.tsx", main: "./nope.js", "framework-m": true }));
    write("desk-plugins/a/a.tsx", "");
    write("desk-plugins/b/package.json", json({ name: "b", main: "./b.js", "framework-m": true }));
    write("desk-plugins/b/b.js", "");
    write("desk-plugins/c/package.json", json({ name: "c", "framework-m": { entry: "./src/index" } }));
    write("desk-plugins/c/src/index.tsx", "");
    write("desk-plugins/d/package.json", json({ name: "d", "framework-m": false }));
    write("desk-plugins/e/package.json", json({ name: "e", "framework-m": { type: "something-else" } }));
    const found = scanPlugins({ workspaceDir: ws() });
    expect(found.map((p) => [p.name, path.relative(tmp, p.entry)])).toEqual([
      ["a", "desk-plugins/a/a.tsx"],
      ["b", "desk-plugins/b/b.js"],
      ["c", "desk-plugins/c/src/index.tsx"],
    ]);
  });

  it("fails naming the file when package.json is not JSON", () => {
    const f = write("apps/bad/frontend/package.json", "{ name: oops");
    expect(() => scanPlugins({ appsDirs: [apps()] })).toThrow(PluginScanError);
    expect(() => scanPlugins({ appsDirs: [apps()] })).toThrow(f);
  });

  it("fails naming the file when the plugin file is missing", () => {
    const f = write("apps/x/frontend/package.json", json({ name: "x", "framework-m": { type: "frontend-module", plugin: "./src/plugin.config.ts" } }));
    expect(() => scanPlugins({ appsDirs: [apps()] })).toThrow(new RegExp(`${f}.*src/plugin\\.config\\.ts does not exist`));
  });

  it("fails when the key names no module, or two plugins share a name", () => {
    write("apps/x/frontend/package.json", json({ name: "x", "framework-m": {} }));
    expect(() => scanPlugins({ appsDirs: [apps()] })).toThrow(/no plugin module/);
    fs.rmSync(path.join(apps(), "x"), { recursive: true });
    write("apps/one/frontend/package.json", json({ name: "dup", "framework-m": { entry: "./i.ts" } }));
    write("apps/one/frontend/i.ts", "");
    write("desk-plugins/two/package.json", json({ name: "dup", "framework-m": { entry: "./i.ts" } }));
    write("desk-plugins/two/i.ts", "");
    expect(() => scanPlugins({ workspaceDir: ws(), appsDirs: [apps()] })).toThrow(/"dup" is also used by/);
  });

  it("reads the apps dirs from FM_APPS_DIRS, workspace first then each dir in order; missing dirs are empty", () => {
    for (const [dir, name] of [["p1", "one"], ["p2", "two"]]) {
      write(`${dir}/app/frontend/package.json`, json({ name, "framework-m": { entry: "./i.ts" } }));
      write(`${dir}/app/frontend/i.ts`, "");
    }
    write("desk-plugins/w/package.json", json({ name: "ws", "framework-m": { entry: "./i.ts" } }));
    write("desk-plugins/w/i.ts", "");
    const env = { FM_APPS_DIRS: [path.join(tmp, "p2"), "", path.join(tmp, "missing"), path.join(tmp, "p1")].join(path.delimiter) };
    const dirs = appsDirsFromEnv(env);
    expect(dirs).toEqual([path.join(tmp, "p2"), path.join(tmp, "missing"), path.join(tmp, "p1")]);
    expect(scanPlugins({ workspaceDir: ws(), appsDirs: dirs }).map((p) => p.name)).toEqual(["ws", "two", "one"]);
    expect(appsDirsFromEnv({})).toEqual([]);
  });

  it("reads plugin folders from FM_PLUGIN_DIRS (what m build passes), in their order", () => {
    for (const name of ["zeta", "alpha"]) {
      write(`apps/${name}/frontend/package.json`, json({ name, "framework-m": { entry: "./i.ts" } }));
      write(`apps/${name}/frontend/i.ts`, "");
    }
    write("apps/skipped/frontend/package.json", json({ name: "skipped", "framework-m": { entry: "./i.ts" } }));
    write("apps/skipped/frontend/i.ts", "");
    const env = { FM_PLUGIN_DIRS: ["zeta", "alpha"].map((a) => path.join(apps(), a, "frontend")).join(path.delimiter) };
    const found = scanPlugins({ workspaceDir: ws(), pluginDirs: pluginDirsFromEnv(env) });
    expect(found.map((p) => p.name)).toEqual(["zeta", "alpha"]); // an app not listed is not built in
    expect(pluginDirsFromEnv({})).toEqual([]);
  });
});

describe("modes and names", () => {
  it("FM_DESK_MODE defaults to monolith and rejects anything else", () => {
    expect(modeFromEnv({})).toBe("monolith");
    expect(modeFromEnv({ FM_DESK_MODE: "mfe" })).toBe("mfe");
    expect(() => modeFromEnv({ FM_DESK_MODE: "micro" })).toThrow(/FM_DESK_MODE/);
  });
  it("safeName", () => {
    expect(safeName("@billing/desk")).toBe("billing-desk");
    expect(safeName("@@@")).toBe("plugin");
  });
});

describe("generateModule", () => {
  const plugins: ScannedPlugin[] = [
    { name: "@a/x", safeName: "a-x", packageJson: "/p/a/package.json", entry: "/p/a/src/plugin.config.ts" },
    { name: "b", safeName: "b", packageJson: "/p/b/package.json", entry: "/p/b/index.tsx" },
  ];

  // Evaluates the generated ES module with its imports replaced by stand-ins.
  async function evaluate(code: string, fetchImpl?: typeof fetch) {
    const stubs: Record<string, unknown> = {
      "/p/a/src/plugin.config.ts": { default: { name: "@a/x" } },
      "/p/b/index.tsx": { default: { name: "b" } },
    };
    const body = code
      .replace(/^import \* as (\w+) from ("[^"]+");$/gm, (_m, v, p) => `const ${v} = __stubs[${p}];`)
      .replace(/import\((?:\/\* @vite-ignore \*\/ )?/g, "__import(")
      .replace(/^export const (\w+) =/gm, "exports.$1 =");
    const exports: Record<string, unknown> = {};
    const imported: string[] = [];
    const __import = async (u: string) => {
      imported.push(u);
      return stubs[u] ?? stubs[new URL(u).pathname.replace("/desk/plugins/", "/p/")] ?? { default: { name: u } };
    };
    const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor;
    await new AsyncFunction("exports", "__stubs", "__import", "fetch", "document", body)(exports, stubs, __import, fetchImpl, {
      baseURI: "http://host/desk/app/Invoice",
    });
    return { exports: exports as { mode: string; plugins: { name: string; load(): Promise<{ default: { name: string } }> }[] }, imported };
  }

  it("monolith: static imports, load() resolves without importing anything", async () => {
    const code = generateModule(plugins, "monolith");
    expect(code).toContain(`import * as m0 from "/p/a/src/plugin.config.ts";`);
    expect(code).not.toMatch(/import\(/);
    const { exports, imported } = await evaluate(code);
    expect(exports.mode).toBe("monolith");
    expect(exports.plugins.map((p) => p.name)).toEqual(["@a/x", "b"]);
    expect((await exports.plugins[1]!.load()).default.name).toBe("b");
    expect(imported).toEqual([]);
  });

  it("dev: lazy dynamic imports of the source files", async () => {
    const code = generateModule(plugins, "dev");
    expect(code).not.toMatch(/^import /m);
    const { exports, imported } = await evaluate(code);
    expect(imported).toEqual([]);
    expect((await exports.plugins[0]!.load()).default.name).toBe("@a/x");
    expect(imported).toEqual(["/p/a/src/plugin.config.ts"]);
  });

  it("mfe: fetches <base>plugins/manifest.json and imports each url relative to the base", async () => {
    const code = generateModule(plugins, "mfe", "/desk/");
    expect(code).not.toContain("/p/a"); // nothing of the plugins is baked into the shell
    const urls: string[] = [];
    const fetchOk = (async (u: URL) => {
      urls.push(String(u));
      return new Response(json([{ name: "@a/x", url: "plugins/a/src/plugin.config.ts" }]), { status: 200 });
    }) as unknown as typeof fetch;
    const { exports, imported } = await evaluate(code, fetchOk);
    expect(urls).toEqual(["http://host/desk/plugins/manifest.json"]);
    expect(exports.plugins.map((p) => p.name)).toEqual(["@a/x"]);
    expect((await exports.plugins[0]!.load()).default.name).toBe("@a/x");
    expect(imported).toEqual(["http://host/desk/plugins/a/src/plugin.config.ts"]);
  });

  it("mfe: a missing manifest becomes one entry whose load() fails (the shell still starts)", async () => {
    const code = generateModule(plugins, "mfe", "/desk/");
    const fetch404 = (async () => new Response("no", { status: 404 })) as unknown as typeof fetch;
    const { exports } = await evaluate(code, fetch404);
    expect(exports.plugins.map((p) => p.name)).toEqual(["plugins/manifest.json"]);
    await expect(exports.plugins[0]!.load()).rejects.toThrow(/HTTP 404/);
  });
});
