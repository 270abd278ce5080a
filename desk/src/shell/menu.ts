// The sidebar's model: DocTypes shown in the Desk and plugin menus, grouped by ui_meta.group.
import type { DocTypeSummary } from "../providers";
import type { PluginMenuItem } from "@framework-m/sdk";
import { listPath } from "../routes";

export const UNGROUPED = "Other";

const PLAIN = /^[A-Za-z0-9 ]*$/;

/**
 * a.localeCompare(b), without creating an ICU collator for the usual plain names (that costs
 * ~40 ms on the first render): ignoring case first, then lower case before upper case, as the
 * collator orders them.
 */
export function compareNames(a: string, b: string): number {
  if (!PLAIN.test(a) || !PLAIN.test(b)) return a.localeCompare(b);
  const la = a.toLowerCase();
  const lb = b.toLowerCase();
  if (la !== lb) return la < lb ? -1 : 1;
  return a === b ? 0 : a < b ? 1 : -1;
}

export interface NavItem {
  key: string;
  label: string;
  path: string;
  icon?: string;
  /** "doctype" items get data-testid nav-<DocType>, plugin items nav-plugin-<key> */
  kind: "doctype" | "plugin";
  testId: string;
}

export interface NavGroup {
  group: string;
  items: NavItem[];
}

/** DocTypes that belong in the sidebar and on the home page. */
export function deskDocTypes(all: DocTypeSummary[] | undefined): DocTypeSummary[] {
  return (all ?? []).filter((d) => d.show_in_desk && !d.is_child_table && d.permissions?.read !== false);
}

export function buildNav(doctypes: DocTypeSummary[], menus: PluginMenuItem[]): NavGroup[] {
  const groups = new Map<string, NavItem[]>();
  const add = (group: string | undefined, item: NavItem) => {
    const g = group?.trim() || UNGROUPED;
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g)!.push(item);
  };
  for (const d of deskDocTypes(doctypes)) {
    add(d.ui_meta?.group, {
      key: `dt:${d.name}`,
      label: d.label || d.name,
      path: listPath(d.name),
      icon: d.ui_meta?.icon,
      kind: "doctype",
      testId: `nav-${d.name}`,
    });
  }
  // registry.menus is already in plugin order; keep it within each group after the DocTypes
  for (const m of menus) {
    add(m.group, {
      key: `plugin:${m.key}`,
      label: m.label,
      path: m.path,
      icon: m.icon,
      kind: "plugin",
      testId: `nav-plugin-${m.key}`,
    });
  }
  return [...groups.entries()]
    .sort(([a], [b]) => (a === UNGROUPED ? 1 : b === UNGROUPED ? -1 : compareNames(a, b)))
    .map(([group, items]) => ({ group, items }));
}

/** The nav item whose path is the longest prefix of the location (for the selected state). */
export function selectedKey(groups: NavGroup[], pathname: string): string | undefined {
  let best: NavItem | undefined;
  for (const g of groups)
    for (const i of g.items) {
      const p = decodeURIComponent(i.path);
      const loc = decodeURIComponent(pathname);
      if ((loc === p || loc.startsWith(p + "/")) && (!best || p.length > best.path.length)) best = i;
    }
  return best?.key;
}
