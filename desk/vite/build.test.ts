// @vitest-environment node
// One real `vite build` per mode of a tiny shell + a plugin, both in a temp dir OUTSIDE desk/
// (no node_modules there): proves the shared imports resolve to desk's copies and the output shape.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { build } from "vite";
import react from "@vitejs/plugin-react";
import frameworkMPlugins from "./framework-m-vite-plugin.ts";

const deskRoot = fileURLToPath(new URL("..", import.meta.url));
let tmp: string;

function write(file: string, text: string) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

function jsFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".js"))
    .map((f) => path.join(dir, f));
}

// Unminified output keeps rolldown's per-module path comments: this one marks a copy of React.
const REACT_MARKER = "node_modules/react/cjs/react.production.js";

async function buildShell(mode: "monolith" | "mfe", outDir: string) {
  // Vitest sets NODE_ENV=test, which would make this a development build of React.
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = "production";
  try {
    await buildOnce(mode, outDir);
  } finally {
    process.env.NODE_ENV = nodeEnv;
  }
}

async function buildOnce(mode: "monolith" | "mfe", outDir: string) {
  await build({
    configFile: false,
    logLevel: "silent",
    mode: "production",
    root: path.join(tmp, "shell"),
    base: "/desk/",
    plugins: [
      frameworkMPlugins({ deskRoot, workspaceDir: path.join(tmp, "no-workspace"), appsDirs: [path.join(tmp, "apps")], mode }),
      react(),
    ],
    resolve: { alias: { "@framework-m/sdk": path.join(deskRoot, "src/sdk/index.ts") } },
    build: { outDir, emptyOutDir: true, minify: false },
  });
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "deskcomp-build-"));
  expect(path.relative(deskRoot, tmp).startsWith("..")).toBe(true);
  write(
    path.join(tmp, "apps/alpha/frontend/package.json"),
    JSON.stringify({ name: "@t/alpha", "framework-m": { type: "frontend-module", plugin: "./src/plugin.config.tsx" } }),
  );
  write(
    path.join(tmp, "apps/alpha/frontend/src/plugin.config.tsx"),
    `import { definePlugin } from "@framework-m/sdk";
import { Button } from "antd";
import { useState } from "react";
import dayjs from "dayjs";
function Alpha() { const [n] = useState(1); return <Button>ALPHA_PLUGIN_MARKER {n} {dayjs(0).year()}</Button>; }
export default definePlugin({ name: "@t/alpha", menus: [{ key: "alpha", label: "Alpha", path: "/alpha" }],
  routes: [{ path: "/alpha", component: Alpha }] });
`,
  );
  write(
    path.join(tmp, "shell/index.html"),
    `<!doctype html><html><body><div id="root"></div><script type="module" src="./main.tsx"></script></body></html>`,
  );
  write(
    path.join(tmp, "shell/main.tsx"),
    `import { createRoot } from "react-dom/client";
import { Button } from "antd";
import { loadPlugins } from ${JSON.stringify(path.join(deskRoot, "src/boot.ts"))};
loadPlugins().then((r) => createRoot(document.getElementById("root")!).render(<Button>{r.menus.map((m) => m.label).join()}</Button>));
`,
  );
});

afterAll(() => {
  if (tmp && !process.env.KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
});

describe("vite build of a shell + an outside plugin", () => {
  it("monolith: the plugin is inside the one main bundle", async () => {
    const out = path.join(tmp, "dist-monolith");
    await buildShell("monolith", out);
    const files = jsFiles(out);
    expect(files).toHaveLength(1);
    expect(path.relative(out, files[0]!)).toMatch(/^assets\/index-[\w-]+\.js$/);
    const code = fs.readFileSync(files[0]!, "utf8");
    expect(code).toContain("ALPHA_PLUGIN_MARKER");
    expect(code.split(REACT_MARKER).length - 1).toBe(1);
    expect(fs.existsSync(path.join(out, "plugins"))).toBe(false);
  }, 120_000);

  it("mfe: the plugin is its own file listed in plugins/manifest.json, sharing the shell's React", async () => {
    const out = path.join(tmp, "dist-mfe");
    await buildShell("mfe", out);
    const manifest = JSON.parse(fs.readFileSync(path.join(out, "plugins/manifest.json"), "utf8"));
    expect(manifest).toEqual([{ name: "@t/alpha", url: expect.stringMatching(/^plugins\/t-alpha-[\w-]+\.js$/) }]);
    const pluginFile = path.join(out, manifest[0].url);
    const pluginCode = fs.readFileSync(pluginFile, "utf8");
    expect(pluginCode).toContain("ALPHA_PLUGIN_MARKER");
    expect(pluginCode).toMatch(/export \{[^}]*\bas default\b[^}]*\}|export default/);
    // React, antd, dayjs come from the shell's chunks (one copy each), not from the plugin file.
    expect(pluginCode).not.toContain(REACT_MARKER);
    expect(pluginCode).toMatch(/from "\.\.\/assets\/[\w.-]+\.js"/);
    const reactCopies = jsFiles(out).filter((f) => fs.readFileSync(f, "utf8").includes(REACT_MARKER));
    expect(reactCopies).toHaveLength(1);
    // The shell does not import the plugin statically; it fetches the manifest at run time.
    const shellCode = jsFiles(out)
      .filter((f) => !f.includes(`${path.sep}plugins${path.sep}`))
      .map((f) => fs.readFileSync(f, "utf8"))
      .join("\n");
    expect(shellCode).not.toContain("ALPHA_PLUGIN_MARKER");
    expect(shellCode).toContain("plugins/manifest.json");
  }, 120_000);

  it("mfe: rebuilding after a plugin change only changes plugins/*, so the shell need not be redeployed", async () => {
    const src = path.join(tmp, "apps/alpha/frontend/src/plugin.config.tsx");
    const before = path.join(tmp, "dist-mfe");
    if (!fs.existsSync(path.join(before, "plugins/manifest.json"))) await buildShell("mfe", before);
    fs.writeFileSync(src, fs.readFileSync(src, "utf8").replace("ALPHA_PLUGIN_MARKER", "ALPHA_PLUGIN_V2"));
    const after = path.join(tmp, "dist-mfe-2");
    await buildShell("mfe", after);
    const listing = (dir: string) =>
      fs.readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => fs.statSync(path.join(dir, f)).isFile()).sort();
    const shell = (dir: string) => listing(dir).filter((f) => !f.startsWith("plugins"));
    expect(shell(after)).toEqual(shell(before));
    for (const f of shell(after)) {
      expect(fs.readFileSync(path.join(after, f), "utf8"), f).toBe(fs.readFileSync(path.join(before, f), "utf8"));
    }
    const [m1] = JSON.parse(fs.readFileSync(path.join(before, "plugins/manifest.json"), "utf8"));
    const [m2] = JSON.parse(fs.readFileSync(path.join(after, "plugins/manifest.json"), "utf8"));
    expect(m2.url).not.toBe(m1.url);
    expect(fs.readFileSync(path.join(after, m2.url), "utf8")).toContain("ALPHA_PLUGIN_V2");
  }, 120_000);
});
