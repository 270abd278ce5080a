// The PluginSDK (`@framework-m/sdk`): what a Desk plugin imports to describe itself, and the
// registry the shell uses to compose plugins into its sidebar, router and Refine resources.
// Deliberately React-free at run time (type imports only) so plugins built against it stay small.
import type { ComponentType } from "react";
import type { ResourceProps } from "@refinedev/core";

export type { ResourceProps };

export interface PluginMenuItem {
  key: string; // unique; rendered as <a data-testid="nav-plugin-<key>">
  label: string;
  path: string; // router path inside the Desk, e.g. "/billing/overview" (basename /desk)
  icon?: string; // icon name as in ui_meta.icon ("user", "file-text", "dollar", ...)
  group?: string; // sidebar group; same groups as DocTypes' ui_meta.group
  order?: number;
}

export interface PluginRoute {
  path: string;
  component: ComponentType;
}

export interface PluginInitContext {
  registry: PluginRegistry;
}

export interface FrameworkMPlugin {
  name: string; // package name
  app_id?: string; // plugins with the same app_id are merged into one
  menus?: PluginMenuItem[];
  routes?: PluginRoute[];
  resources?: ResourceProps[]; // extra Refine resources
  onInit?(ctx: PluginInitContext): void | Promise<void>;
}

export interface PluginFailure {
  plugin: string;
  phase: "load" | "init" | "register";
  message: string;
}

/** Identity at run time; exists so plugin authors get type checking and completion. */
export function definePlugin(p: FrameworkMPlugin): FrameworkMPlugin {
  return p;
}

/** One registered plugin, kept separately even when merged by app_id, so a plugin whose
 *  onInit throws can be dropped without taking its app_id siblings down with it. */
interface Entry {
  plugin: FrameworkMPlugin;
  menus: PluginMenuItem[];
  routes: PluginRoute[];
  resources: ResourceProps[];
  state: "pending" | "ready" | "failed";
}

export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message || e.name;
  if (typeof e === "string") return e;
  try {
    return JSON.stringify(e) ?? String(e);
  } catch {
    return String(e);
  }
}

function byOrder(a: PluginMenuItem, b: PluginMenuItem): number {
  // Items without an order keep registration order after the ordered ones (sort is stable).
  const oa = a.order ?? Number.POSITIVE_INFINITY;
  const ob = b.order ?? Number.POSITIVE_INFINITY;
  return oa === ob ? 0 : oa < ob ? -1 : 1;
}

export class PluginRegistry {
  private readonly entries: Entry[] = [];
  private readonly menuKeys = new Set<string>();
  private readonly routePaths = new Set<string>();
  private readonly _failures: PluginFailure[] = [];
  // Getters return the same arrays until the registry changes, so React deps stay stable.
  private cache = new Map<string, unknown>();

  private memo<T>(key: string, compute: () => T): T {
    if (!this.cache.has(key)) this.cache.set(key, compute());
    return this.cache.get(key) as T;
  }

  /** Records a plugin. Malformed plugins and duplicate menu keys / route paths are reported
   *  as "register" failures and dropped (the rest of the plugin still counts). Never throws. */
  register(p: FrameworkMPlugin): void {
    if (!p || typeof p !== "object" || typeof p.name !== "string" || !p.name) {
      const name = p && typeof p === "object" && typeof p.name === "string" ? p.name : "(unnamed)";
      this.reportFailure(name || "(unnamed)", "register", "a plugin must be an object with a non-empty name");
      return;
    }
    const menus: PluginMenuItem[] = [];
    for (const m of Array.isArray(p.menus) ? p.menus : []) {
      if (!m || typeof m.key !== "string" || !m.key || typeof m.path !== "string") {
        this.reportFailure(p.name, "register", `menu item without key/path: ${errorMessage(m)}`);
      } else if (this.menuKeys.has(m.key)) {
        this.reportFailure(p.name, "register", `duplicate menu key "${m.key}" dropped`);
      } else {
        this.menuKeys.add(m.key);
        menus.push(m);
      }
    }
    const routes: PluginRoute[] = [];
    for (const r of Array.isArray(p.routes) ? p.routes : []) {
      if (!r || typeof r.path !== "string" || !r.component) {
        this.reportFailure(p.name, "register", `route without path/component: ${String(r?.path)}`);
      } else if (this.routePaths.has(r.path)) {
        this.reportFailure(p.name, "register", `duplicate route path "${r.path}" dropped`);
      } else {
        this.routePaths.add(r.path);
        routes.push(r);
      }
    }
    const resources = Array.isArray(p.resources) ? p.resources.filter(Boolean) : [];
    this.entries.push({ plugin: p, menus, routes, resources, state: "pending" });
    this.cache.clear();
  }

  /** Runs every pending plugin's onInit, one after the other (a plugin may rely on an earlier
   *  one). A plugin that throws or rejects is reported and excluded. Never rejects. */
  async initAll(): Promise<void> {
    for (const e of this.entries) {
      if (e.state !== "pending") continue;
      try {
        await e.plugin.onInit?.({ registry: this });
        e.state = "ready";
      } catch (err) {
        e.state = "failed";
        this.reportFailure(e.plugin.name, "init", errorMessage(err));
      }
      this.cache.clear();
    }
  }

  /** Reports a failure that happened outside the registry (e.g. a plugin module that failed to load). */
  reportFailure(plugin: string, phase: PluginFailure["phase"], message: string): void {
    this._failures.push({ plugin, phase, message });
    this.cache.clear();
  }

  private get ready(): Entry[] {
    return this.entries.filter((e) => e.state === "ready");
  }

  /** Registered and initialised plugins; those sharing an app_id appear once, merged. */
  get plugins(): FrameworkMPlugin[] {
    return this.memo("plugins", () => this.mergePlugins());
  }

  private mergePlugins(): FrameworkMPlugin[] {
    const out: FrameworkMPlugin[] = [];
    const byApp = new Map<string, FrameworkMPlugin>();
    for (const e of this.ready) {
      const id = e.plugin.app_id;
      const merged = id !== undefined ? byApp.get(id) : undefined;
      if (merged) {
        merged.menus = [...(merged.menus ?? []), ...e.menus];
        merged.routes = [...(merged.routes ?? []), ...e.routes];
        merged.resources = [...(merged.resources ?? []), ...e.resources];
        continue;
      }
      const copy: FrameworkMPlugin = { ...e.plugin, menus: e.menus, routes: e.routes, resources: e.resources };
      delete copy.onInit; // a ready plugin has been initialised: the copies do not carry onInit
      if (id !== undefined) byApp.set(id, copy);
      out.push(copy);
    }
    return out;
  }

  get menus(): PluginMenuItem[] {
    return this.memo("menus", () => this.ready.flatMap((e) => e.menus).sort(byOrder));
  }

  get routes(): PluginRoute[] {
    return this.memo("routes", () => this.ready.flatMap((e) => e.routes));
  }

  get resources(): ResourceProps[] {
    return this.memo("resources", () => this.ready.flatMap((e) => e.resources));
  }

  get failures(): PluginFailure[] {
    return this.memo("failures", () => [...this._failures]);
  }
}
