// Loads every plugin of the virtual module into a PluginRegistry. Never throws: a plugin that
// fails to load or initialise is recorded in registry.failures and the Desk boots without it.
import { plugins as discovered, type PluginModuleEntry } from "virtual:framework-m-plugins";
import { PluginRegistry, errorMessage, type FrameworkMPlugin } from "./sdk/index.ts";

function isPlugin(v: unknown): v is FrameworkMPlugin {
  return typeof v === "object" && v !== null && typeof (v as FrameworkMPlugin).name === "string";
}

export async function loadPlugins(
  entries: readonly PluginModuleEntry[] = discovered,
  registry: PluginRegistry = new PluginRegistry(),
): Promise<PluginRegistry> {
  try {
    // Load in parallel (mfe: one request per plugin), register in discovery order.
    const loaded = await Promise.allSettled(entries.map((e) => Promise.resolve().then(() => e.load())));
    loaded.forEach((r, i) => {
      const name = entries[i]?.name ?? `plugin #${i}`;
      if (r.status === "rejected") {
        registry.reportFailure(name, "load", errorMessage(r.reason));
      } else if (!isPlugin(r.value?.default)) {
        registry.reportFailure(name, "load", "the module has no default export created with definePlugin()");
      } else {
        registry.register(r.value.default);
      }
    });
    await registry.initAll();
  } catch (e) {
    // Only reachable through a bug here; still never take the Desk down.
    registry.reportFailure("(desk)", "load", errorMessage(e));
  }
  return registry;
}
