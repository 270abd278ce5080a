import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { LiveEvent } from "@refinedev/core";
import { configureLive, liveProvider, resetLiveForTests } from "./liveProvider";
import { configureHttp, login } from "./http";
import { markSessionSeen, resetSessionForTests, sessionStore } from "./session";
import { FakeEventSource, json, mockFetch, specError } from "./test-utils";

const realFetch = globalThis.fetch;
const payload = (over: Record<string, unknown> = {}) => ({
  doctype: "Invoice",
  id: "u1",
  name: "INV-1",
  docstatus: 0,
  modified: "2026-01-01 00:00:00.000000",
  user: "a@b.c",
  ...over,
});

function sub(channel: string, types: string[] = ["*"], params: Record<string, unknown> = {}) {
  const got: LiveEvent[] = [];
  const handle = liveProvider.subscribe({ channel, types, callback: (e: LiveEvent) => got.push(e), params });
  return { got, handle };
}

beforeEach(() => {
  resetLiveForTests();
  resetSessionForTests();
  FakeEventSource.instances = [];
  configureLive({ EventSource: FakeEventSource as unknown as typeof EventSource, backoff: [1000, 2000], idleClose: 5000 });
});
afterEach(() => {
  vi.useRealTimers();
  resetLiveForTests();
  configureHttp({ fetch: (...a) => realFetch(...a) });
});

describe("liveProvider", () => {
  it("shares one EventSource between subscribers", () => {
    sub("resources/Invoice");
    sub("resources/Customer");
    expect(FakeEventSource.instances).toHaveLength(1);
    expect(FakeEventSource.latest().url).toBe("/api/v1/stream");
  });

  it("maps doc.* events to Refine events on resources/<DocType>", () => {
    const inv = sub("resources/Invoice");
    const cust = sub("resources/Customer");
    const es = FakeEventSource.latest();
    es.open();
    es.emit("doc.created", payload(), "1");
    es.emit("doc.updated", payload({ modified: "m2" }), "2");
    es.emit("doc.deleted", payload(), "3");
    es.emit("doc.submitted", payload({ docstatus: 1 }), "4");
    es.emit("doc.cancelled", payload({ docstatus: 2 }), "5");
    expect(inv.got.map((e) => e.type)).toEqual(["created", "updated", "deleted", "updated", "updated"]);
    expect(cust.got).toHaveLength(0);
    expect(inv.got[0].channel).toBe("resources/Invoice");
    expect(inv.got[0].payload).toMatchObject({ ids: ["u1"], ...payload() });
    expect(inv.got[3].payload).toMatchObject({ docstatus: 1, topic: "doc.submitted" });
    expect(inv.got[0].date).toBeInstanceOf(Date);
  });

  it("honours the subscriber's types and a useOne subscription's id", () => {
    const onlyDeleted = sub("resources/Invoice", ["deleted"]);
    const one = sub("resources/Invoice", ["*"], { subscriptionType: "useOne", id: "u2" });
    const byName = sub("resources/Invoice", ["*"], { subscriptionType: "useOne", id: "INV-2" });
    const es = FakeEventSource.latest();
    es.emit("doc.updated", payload(), "1");
    es.emit("doc.updated", payload({ id: "u2", name: "INV-2" }), "2");
    es.emit("doc.deleted", payload(), "3");
    expect(onlyDeleted.got.map((e) => e.type)).toEqual(["deleted"]);
    expect(one.got.map((e) => e.payload.id)).toEqual(["u2"]);
    expect(byName.got.map((e) => e.payload.id)).toEqual(["u2"]);
  });

  it("reset → a '*' event to every subscriber", () => {
    const a = sub("resources/Invoice", ["*"], { subscriptionType: "useOne", id: "zz" });
    const b = sub("resources/Customer", ["*"]);
    FakeEventSource.latest().emit("reset", { reason: "missed events" });
    expect(a.got).toEqual([expect.objectContaining({ channel: "resources/Invoice", type: "*" })]);
    expect(b.got).toEqual([expect.objectContaining({ channel: "resources/Customer", type: "*" })]);
    expect(b.got[0].payload.reason).toBe("missed events");
  });

  it("unsubscribe: the stream closes only after the idle delay, and a resubscribe keeps it", () => {
    vi.useFakeTimers();
    const a = sub("resources/Invoice");
    const es = FakeEventSource.latest();
    liveProvider.unsubscribe(a.handle);
    vi.advanceTimersByTime(1000);
    sub("resources/Invoice");
    vi.advanceTimersByTime(10000);
    expect(es.closed).toBe(false);
    expect(FakeEventSource.instances).toHaveLength(1);
    const { handle } = sub("resources/X");
    liveProvider.unsubscribe(handle);
  });

  it("a transient error is left to the browser's own reconnect", () => {
    vi.useFakeTimers();
    sub("resources/Invoice");
    FakeEventSource.latest().fail(false);
    vi.advanceTimersByTime(60000);
    expect(FakeEventSource.instances).toHaveLength(1);
  });

  it("CLOSED → checks the session and reopens with backoff, resuming from the last id", async () => {
    vi.useFakeTimers();
    const m = mockFetch(() => json(200, { authenticated: true, id: "a", email: "a", name: "A", roles: [] }));
    configureHttp({ fetch: m.fn });
    const s = sub("resources/Invoice");
    const es = FakeEventSource.latest();
    es.emit("doc.updated", payload(), "41");
    es.fail(true);
    await vi.advanceTimersByTimeAsync(999);
    expect(FakeEventSource.instances).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(m.calls.map((c) => c.url)).toContain("/api/v1/auth/me");
    expect(FakeEventSource.instances).toHaveLength(2);
    expect(FakeEventSource.latest().url).toBe("/api/v1/stream?last_event_id=41");
    FakeEventSource.latest().emit("doc.updated", payload(), "42");
    expect(s.got).toHaveLength(2);
  });

  it("CLOSED after the session ended → reopens only after the re-login", async () => {
    vi.useFakeTimers();
    markSessionSeen();
    let loggedIn = false;
    const m = mockFetch((c) => {
      if (c.url === "/api/v1/auth/login") {
        loggedIn = true;
        return json(200, { access_token: "A", token_type: "bearer", expires_in: 900 });
      }
      if (c.url === "/api/v1/auth/refresh") return specError(401, "PermissionDenied", "session ended");
      return json(200, loggedIn ? { authenticated: true, id: "a", email: "a", name: "A", roles: [] } : { authenticated: false });
    });
    configureHttp({ fetch: m.fn });
    localStorage.setItem("fm.session", "1"); // a refresh cookie may exist; the server refuses it
    sub("resources/Invoice");
    FakeEventSource.latest().fail(true);
    await vi.advanceTimersByTimeAsync(1000);
    expect(sessionStore.getSnapshot().expired).toBe(true);
    await vi.advanceTimersByTimeAsync(30000);
    expect(FakeEventSource.instances).toHaveLength(1);
    await login("a@b.c", "pw");
    await vi.advanceTimersByTimeAsync(0);
    expect(FakeEventSource.instances.length).toBeGreaterThanOrEqual(2);
    expect(FakeEventSource.latest().closed).toBe(false);
  });
});
