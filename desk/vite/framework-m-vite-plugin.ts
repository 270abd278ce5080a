// framework-m-vite-plugin (docs/reference/desk.md, "Plugins"): build-time composition of Desk plugins.
//
// Finds every package.json with a "framework-m" key in
//   (a) the workspace folder desk/plugins/*/package.json and
//   (b) each project apps folder of FM_APPS_DIRS (path.delimiter-separated): <apps>/*/frontend/package.json
//   (c) each plugin folder of FM_PLUGIN_DIRS (path.delimiter-separated): <dir>/package.json — what
//       `m build` passes: the frontend/ folders of the project's installed apps, in app order
// and generates `virtual:framework-m-plugins`, exporting `plugins: {name, load()}[]`.
//
// Modes (FM_DESK_MODE):
//   monolith (default) — plugins are imported statically: one bundle, nothing fetched at run time.
//   mfe — every plugin is its own entry chunk `plugins/<safe-name>-[hash].js`, listed in an emitted
//         `plugins/manifest.json` ([{name, url}], url relative to the Desk base). The shell fetches
//         the manifest at start-up and import()s each url, so a plugin can be rebuilt and its file +
//         the manifest replaced without touching the shell. What must stay shared: a plugin's imports
//         of react, antd, @refinedev/core, ... are not bundled into it but point at the shell's
//         chunks of the SAME build (one React, one antd context). So replace plugin files only with
//         the output of a build of the same shell (same desk/ sources and lockfile) — its shell
//         chunks have the same names, and only plugins/*.js and plugins/manifest.json differ.
// Dev server: always dynamic imports; the scanned folders are watched and a plugin package.json
// appearing/disappearing/changing triggers a full reload.
//
// Plugins live outside desk/ and have no node_modules of their own, so their imports of the
// shared packages (SHARED below) and of @framework-m/sdk are resolved from desk/.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { normalizePath, searchForWorkspaceRoot, type Plugin, type ResolvedConfig, type ViteDevServer } from "vite";

export const VIRTUAL_ID = "virtual:framework-m-plugins";
const RESOLVED_ID = "\0" + VIRTUAL_ID;

/** Packages a plugin must share with the shell (one copy each, desk's). */
export const SHARED = [
  "react",
  "react-dom",
  "antd",
  "@ant-design/icons",
  "@refinedev/core",
  "react-router",
  "dayjs",
  "@framework-m/sdk",
] as const;

export type DeskMode = "monolith" | "mfe";

export interface ScannedPlugin {
  /** package.json "name" (falls back to the folder name). */
  name: string;
  /** File-name-safe form of name, used for the mfe chunk name. */
  safeName: string;
  /** Absolute path of the package.json. */
  packageJson: string;
  /** Absolute path of the plugin module (default-exports a FrameworkMPlugin). */
  entry: string;
}

export class PluginScanError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`framework-m plugin ${file}: ${message}`);
    this.name = "PluginScanError";
  }
}

export function safeName(name: string): string {
  return (
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "") || "plugin"
  );
}

/** FM_APPS_DIRS split on path.delimiter, resolved against cwd; empty parts ignored. */
export function appsDirsFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  return dirsFromEnv(env.FM_APPS_DIRS);
}

/** FM_PLUGIN_DIRS, the same way. */
export function pluginDirsFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  return dirsFromEnv(env.FM_PLUGIN_DIRS);
}

function dirsFromEnv(value: string | undefined): string[] {
  return (value ?? "")
    .split(path.delimiter)
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => path.resolve(s));
}

export function modeFromEnv(env: NodeJS.ProcessEnv = process.env): DeskMode {
  const m = (env.FM_DESK_MODE ?? "").trim() || "monolith";
  if (m !== "monolith" && m !== "mfe") {
    throw new Error(`FM_DESK_MODE must be "monolith" or "mfe", got "${m}"`);
  }
  return m;
}

const ENTRY_EXTENSIONS = ["", ".ts", ".tsx", ".js", ".jsx", ".mjs"];

function resolveEntry(pkgDir: string, rel: string): string | undefined {
  const base = path.resolve(pkgDir, rel);
  for (const ext of ENTRY_EXTENSIONS) {
    const f = base + ext;
    if (fs.statSync(f, { throwIfNoEntry: false })?.isFile()) return f;
  }
  for (const ext of ENTRY_EXTENSIONS.slice(1)) {
    const f = path.join(base, "index" + ext);
    if (fs.statSync(f, { throwIfNoEntry: false })?.isFile()) return f;
  }
  return undefined;
}

/** Reads one package.json; undefined when it is not a Desk plugin. Throws PluginScanError. */
export function readPluginPackage(file: string): ScannedPlugin | undefined {
  let pkg: Record<string, unknown>;
  try {
    pkg = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new PluginScanError(file, `not valid JSON (${(e as Error).message})`);
  }
  if (!pkg || typeof pkg !== "object" || Array.isArray(pkg)) {
    throw new PluginScanError(file, "not a JSON object");
  }
  const key = pkg["framework-m"];
  if (key === undefined || key === false || key === null) return undefined;

  let rel: unknown;
  if (key === true) {
    rel = pkg.module ?? pkg.main;
  } else if (typeof key === "object" && !Array.isArray(key)) {
    const k = key as Record<string, unknown>;
    // Other types (none yet) are not Desk frontend modules.
    if (k.type !== undefined && k.type !== "frontend-module") return undefined;
    rel = k.plugin ?? k.entry ?? pkg.module ?? pkg.main;
  } else {
    throw new PluginScanError(file, `"framework-m" must be true or an object, got ${JSON.stringify(key)}`);
  }
  if (typeof rel !== "string" || !rel) {
    throw new PluginScanError(
      file,
      `no plugin module: set "framework-m": {"type": "frontend-module", "plugin": "./src/plugin.config.ts"}`,
    );
  }
  const dir = path.dirname(file);
  const entry = resolveEntry(dir, rel);
  if (!entry) throw new PluginScanError(file, `plugin file ${path.resolve(dir, rel)} does not exist`);
  const name = typeof pkg.name === "string" && pkg.name ? pkg.name : path.basename(dir);
  return { name, safeName: safeName(name), packageJson: file, entry };
}

function subdirs(dir: string): string[] {
  let names: fs.Dirent[];
  try {
    names = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return []; // a missing folder simply holds no plugins
  }
  return names
    .filter((d) => (d.isDirectory() || d.isSymbolicLink()) && !d.name.startsWith(".") && d.name !== "node_modules")
    .map((d) => path.join(dir, d.name))
    .sort();
}

export interface ScanOptions {
  /** desk/plugins: <workspaceDir>/*\/package.json */
  workspaceDir?: string;
  /** project apps folders: <apps>/*\/frontend/package.json */
  appsDirs?: string[];
  /** plugin folders: <dir>/package.json */
  pluginDirs?: string[];
}

/** Candidate package.json paths, in discovery order (workspace first, then apps dirs in order). */
export function candidatePackageJsons(opts: ScanOptions): string[] {
  const out: string[] = [];
  if (opts.workspaceDir) for (const d of subdirs(opts.workspaceDir)) out.push(path.join(d, "package.json"));
  for (const apps of opts.appsDirs ?? []) for (const d of subdirs(apps)) out.push(path.join(d, "frontend", "package.json"));
  for (const d of opts.pluginDirs ?? []) out.push(path.join(d, "package.json"));
  return out.filter((f) => fs.statSync(f, { throwIfNoEntry: false })?.isFile());
}

export function scanPlugins(opts: ScanOptions): ScannedPlugin[] {
  const found: ScannedPlugin[] = [];
  const byName = new Map<string, ScannedPlugin>();
  const bySafe = new Map<string, ScannedPlugin>();
  for (const file of candidatePackageJsons(opts)) {
    const p = readPluginPackage(file);
    if (!p) continue;
    const clash = byName.get(p.name) ?? bySafe.get(p.safeName);
    if (clash) throw new PluginScanError(file, `plugin name "${p.name}" is also used by ${clash.packageJson}`);
    byName.set(p.name, p);
    bySafe.set(p.safeName, p);
    found.push(p);
  }
  return found;
}

const js = (v: unknown) => JSON.stringify(v);

/**
 * The source of `virtual:framework-m-plugins`.
 * - "monolith": static namespace imports (a module without a default export fails at load(),
 *   like in the other modes, instead of failing the build);
 * - "dev": dynamic imports of the source files;
 * - "mfe": fetches <base>plugins/manifest.json (top-level await, so `plugins` is complete when
 *   importers run) and import()s each url; a failing manifest becomes one failing entry.
 */
export function generateModule(plugins: ScannedPlugin[], mode: DeskMode | "dev", base = "/desk/"): string {
  const header = `// generated by framework-m-vite-plugin (${mode})\nexport const mode = ${js(mode)};\n`;
  if (mode === "monolith") {
    const imports = plugins.map((p, i) => `import * as m${i} from ${js(normalizePath(p.entry))};`).join("\n");
    const list = plugins.map((p, i) => `  { name: ${js(p.name)}, load: () => Promise.resolve(m${i}) },`).join("\n");
    return `${header}${imports}\nexport const plugins = [\n${list}\n];\n`;
  }
  if (mode === "dev") {
    const list = plugins.map((p) => `  { name: ${js(p.name)}, load: () => import(${js(normalizePath(p.entry))}) },`).join("\n");
    return `${header}export const plugins = [\n${list}\n];\n`;
  }
  return `${header}const base = new URL(${js(base)}, document.baseURI);
async function discover() {
  const manifest = new URL("plugins/manifest.json", base);
  try {
    const res = await fetch(manifest, { cache: "no-cache", credentials: "same-origin" });
    if (!res.ok) throw new Error("plugins/manifest.json: HTTP " + res.status);
    const list = await res.json();
    if (!Array.isArray(list)) throw new Error("plugins/manifest.json is not an array");
    return list.map((e) => ({
      name: String(e && e.name),
      load: () => import(/* @vite-ignore */ new URL(String(e && e.url), base).href),
    }));
  } catch (err) {
    return [{ name: "plugins/manifest.json", load: () => Promise.reject(err) }];
  }
}
export const plugins = await discover();
`;
}

export interface FrameworkMPluginOptions {
  /** desk/ (holds node_modules and src/sdk). Default: the folder above this file. */
  deskRoot?: string;
  /** Default: <deskRoot>/plugins */
  workspaceDir?: string;
  /** Default: FM_APPS_DIRS */
  appsDirs?: string[];
  /** Default: FM_PLUGIN_DIRS */
  pluginDirs?: string[];
  /** Default: FM_DESK_MODE, else "monolith" */
  mode?: DeskMode;
}

function isBare(id: string): boolean {
  return !id.startsWith(".") && !id.startsWith("/") && !id.startsWith("\0") && !/^[A-Za-z]:[\\/]/.test(id) && !id.includes(":");
}

function sharedPackage(id: string): boolean {
  return SHARED.some((p) => id === p || id.startsWith(p + "/"));
}

function isInside(file: string, dir: string): boolean {
  const rel = path.relative(dir, file);
  return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel);
}

export default function frameworkMPlugins(options: FrameworkMPluginOptions = {}): Plugin {
  const deskRoot = path.resolve(options.deskRoot ?? path.join(path.dirname(fileURLToPath(import.meta.url)), ".."));
  const workspaceDir = path.resolve(options.workspaceDir ?? path.join(deskRoot, "plugins"));
  const appsDirs = options.appsDirs ?? appsDirsFromEnv();
  const pluginDirs = options.pluginDirs ?? pluginDirsFromEnv();
  const mode = options.mode ?? modeFromEnv();
  // desk's own index.html: resolving a shared import "from here" yields desk's copy.
  const deskImporter = path.join(deskRoot, "index.html");
  const scanOpts: ScanOptions = { workspaceDir, appsDirs, pluginDirs };
  const mfeEntries = new Map<string, ScannedPlugin>(); // entry path → plugin, filled in buildStart
  const mfeRefs = new Map<string, string>(); // reference id → plugin name
  let config: ResolvedConfig;
  let scanned: ScannedPlugin[] = [];

  const fromPluginDir = (importer: string | undefined): boolean =>
    !!importer && !importer.startsWith("\0") && !isInside(importer, path.join(deskRoot, "node_modules")) &&
    (!isInside(importer, deskRoot) || isInside(importer, workspaceDir));

  const outputName = (chunk: { facadeModuleId: string | null }, otherwise: string): string =>
    chunk.facadeModuleId && mfeEntries.has(chunk.facadeModuleId) ? "plugins/[name]-[hash].js" : otherwise;

  return {
    name: "framework-m-plugins",
    enforce: "pre",

    config(_user, env) {
      // Called at output time, when configResolved has run.
      const shellName = () => path.posix.join(config.build.assetsDir, "[name]-[hash].js");
      return {
        resolve: { dedupe: SHARED.filter((p) => p !== "@framework-m/sdk") },
        server: { fs: { allow: [searchForWorkspaceRoot(deskRoot), ...appsDirs, ...pluginDirs] } },
        build:
          env.command === "build" && mode === "mfe"
            ? {
                rolldownOptions: {
                  output: {
                    // rolldown names emitted chunks with chunkFileNames, so both are set.
                    entryFileNames: (chunk) => outputName(chunk, shellName()),
                    chunkFileNames: (chunk) => outputName(chunk, shellName()),
                  },
                },
              }
            : undefined,
      };
    },

    configResolved(c) {
      config = c;
    },

    buildStart() {
      scanned = scanPlugins(scanOpts); // throws PluginScanError → the build fails naming the file
      for (const p of scanned) this.addWatchFile(p.packageJson);
      if (config.command === "build" && mode === "mfe") {
        mfeEntries.clear();
        mfeRefs.clear();
        for (const p of scanned) {
          mfeEntries.set(p.entry, p);
          const ref = this.emitFile({ type: "chunk", id: p.entry, name: p.safeName, preserveSignature: "strict" });
          mfeRefs.set(ref, p.name);
        }
      }
    },

    async resolveId(id, importer, opts) {
      if (id === VIRTUAL_ID) return RESOLVED_ID;
      if (!isBare(id) || !fromPluginDir(importer)) return null;
      // Shared packages always come from desk/; anything else from the plugin's own
      // node_modules if it has one, else from desk/.
      if (!sharedPackage(id)) {
        const own = await this.resolve(id, importer, { ...opts, skipSelf: true });
        if (own) return own;
      }
      return this.resolve(id, deskImporter, { ...opts, skipSelf: true });
    },

    load(id) {
      if (id !== RESOLVED_ID) return null;
      scanned = scanPlugins(scanOpts);
      for (const p of scanned) this.addWatchFile(p.packageJson);
      const m = config.command === "serve" ? "dev" : mode;
      return generateModule(scanned, m, config.base);
    },

    generateBundle() {
      if (config.command !== "build" || mode !== "mfe") return;
      const manifest = [...mfeRefs].map(([ref, name]) => ({ name, url: this.getFileName(ref) }));
      this.emitFile({ type: "asset", fileName: "plugins/manifest.json", source: JSON.stringify(manifest, null, 2) + "\n" });
    },

    configureServer(server: ViteDevServer) {
      // chokidar v4 has no globs: watch the folders, filter for plugin package.json files.
      const dirs = [workspaceDir, ...appsDirs].filter((d) => fs.existsSync(d));
      server.watcher.add(dirs);
      const isPluginPackageJson = (file: string): boolean => {
        if (path.basename(file) !== "package.json") return false;
        const parent = path.dirname(file);
        if (path.dirname(parent) === workspaceDir) return true;
        return path.basename(parent) === "frontend" && appsDirs.includes(path.dirname(path.dirname(parent)));
      };
      const onChange = (file: string) => {
        if (!isPluginPackageJson(path.resolve(file))) return;
        const graph = server.environments.client.moduleGraph;
        const mod = graph.getModuleById(RESOLVED_ID);
        if (mod) graph.invalidateModule(mod);
        server.config.logger.info(`framework-m: plugin set changed (${file}), reloading`, { timestamp: true });
        server.ws.send({ type: "full-reload" });
      };
      server.watcher.on("add", onChange);
      server.watcher.on("unlink", onChange);
      server.watcher.on("change", onChange);
    },
  };
}
