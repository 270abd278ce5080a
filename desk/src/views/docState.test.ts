import { describe, expect, it } from "vitest";
import type { DocTypeMeta, FieldMeta } from "../providers";
import { fieldMeta } from "./fieldMeta.testutil";
import { capabilities, eventTouches, sameTimestamp } from "./docState";

const field = (n: string, extra: Partial<FieldMeta> = {}) => fieldMeta(n, "data", extra);

const meta = (perms: Partial<DocTypeMeta["permissions"]>, submittable = true): DocTypeMeta =>
  ({
    name: "Invoice",
    is_submittable: submittable,
    permissions: { read: true, write: false, create: false, delete: false, submit: false, cancel: false, ...perms },
    fields: [field("customer"), field("paid", { allow_on_submit: true }), field("total", { read_only: true })],
  }) as unknown as DocTypeMeta;

describe("capabilities", () => {
  const all = { write: true, create: true, delete: true, submit: true, cancel: true };

  it("drafts: everything the permissions allow, read-only fields stay locked", () => {
    const c = capabilities(meta(all), false, 0);
    expect([c.save, c.submit, c.cancel, c.delete]).toEqual([true, true, false, true]);
    expect(c.editable(field("customer"))).toBe(true);
    expect(c.editable(field("total", { read_only: true }))).toBe(false);
  });

  it("submitted: locked except allow_on_submit; cancel instead of submit; no delete", () => {
    const c = capabilities(meta(all), false, 1);
    expect([c.save, c.submit, c.cancel, c.delete]).toEqual([true, false, true, false]);
    expect(c.editable(field("customer"))).toBe(false);
    expect(c.editable(field("paid", { allow_on_submit: true }))).toBe(true);
  });

  it("cancelled: nothing editable, may be deleted", () => {
    const c = capabilities(meta(all), false, 2);
    expect([c.save, c.submit, c.cancel, c.delete]).toEqual([false, false, false, true]);
    expect(c.editable(field("paid", { allow_on_submit: true }))).toBe(false);
  });

  it("follows the user's permissions", () => {
    const readOnly = capabilities(meta({}), false, 0);
    expect([readOnly.save, readOnly.submit, readOnly.delete]).toEqual([false, false, false]);
    expect(readOnly.editable(field("customer"))).toBe(false);
    const creator = capabilities(meta({ create: true }), true, 0);
    expect(creator.save).toBe(true);
    expect(creator.submit).toBe(false); // a new document is saved before it can be submitted
    expect(capabilities(meta(all, false), false, 0).submit).toBe(false);
  });
});

describe("live events", () => {
  const doc = { id: "u-1", name: "INV-1" };
  const ev = (payload: Record<string, unknown>) => ({ channel: "resources/Invoice", type: "updated", payload, date: new Date() });

  it("recognises the open document by id or name", () => {
    expect(eventTouches(ev({ ids: ["u-1"] }), doc)).toBe(true);
    expect(eventTouches(ev({ ids: ["x"], name: "INV-1" }), doc)).toBe(true);
    expect(eventTouches(ev({ ids: ["u-2"], id: "u-2", name: "INV-2" }), doc)).toBe(false);
  });

  it("compares timestamps across the server's and ISO formats", () => {
    expect(sameTimestamp("2026-11-27 06:00:13.097517", "2026-11-27 06:00:13.097517")).toBe(true);
    expect(sameTimestamp("2026-01-01 10:00:00.000000", "2026-01-01T10:00:00Z")).toBe(true);
    expect(sameTimestamp("2026-01-01 10:00:00.000001", "2026-01-01 10:00:00.000002")).toBe(false);
    expect(sameTimestamp(undefined, "2026")).toBe(false);
  });
});
