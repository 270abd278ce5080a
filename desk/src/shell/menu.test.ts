import { describe, expect, it } from "vitest";
import type { DocTypeSummary } from "../providers";
import { buildNav, compareNames, selectedKey, UNGROUPED } from "./menu";

const dt = (name: string, extra: Partial<DocTypeSummary> = {}): DocTypeSummary =>
  ({
    name,
    label: name,
    show_in_desk: true,
    is_child_table: false,
    ui_meta: {},
    permissions: { read: true },
    ...extra,
  }) as DocTypeSummary;

describe("buildNav", () => {
  it("groups DocTypes and plugin menus by ui_meta.group, ungrouped last", () => {
    const nav = buildNav(
      [
        dt("Invoice", { ui_meta: { group: "Selling", icon: "file-text" } }),
        dt("Invoice Item", { is_child_table: true, ui_meta: { group: "Selling" } }),
        dt("Auth Session", { show_in_desk: false }),
        dt("Scheduled Job"),
        dt("User", { ui_meta: { group: "Users" } }),
      ],
      [{ key: "billing-overview", label: "Billing overview", path: "/billing/overview", group: "Selling" }],
    );
    expect(nav.map((g) => g.group)).toEqual(["Selling", "Users", UNGROUPED]);
    expect(nav[0]!.items.map((i) => i.testId)).toEqual(["nav-Invoice", "nav-plugin-billing-overview"]);
    expect(nav[0]!.items[0]!.path).toBe("/app/Invoice");
    expect(nav[2]!.items.map((i) => i.label)).toEqual(["Scheduled Job"]);
  });

  it("selects the item whose path prefixes the location", () => {
    const nav = buildNav([dt("Customer"), dt("Customer Group")], []);
    expect(selectedKey(nav, "/app/Customer/CUST-1")).toBe("dt:Customer");
    expect(selectedKey(nav, "/app/Customer%20Group")).toBe("dt:Customer Group");
    expect(selectedKey(nav, "/")).toBeUndefined();
  });
});

describe("compareNames", () => {
  it("orders like localeCompare", () => {
    const names = ["Billing", "billing", "Selling", "HR", "Hr", "hr", "Accounts 2", "Accounts2", "Accounts", "A B", "AB",
      "a1", "A1", "Zeta", "alpha", "10", "9", " x", "x ", "Émile", "Zürich", "zoo"];
    for (const a of names) for (const b of names) expect(Math.sign(compareNames(a, b))).toBe(Math.sign(a.localeCompare(b)));
  });
});
