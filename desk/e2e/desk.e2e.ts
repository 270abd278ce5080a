// The Desk in a real browser against a real `m serve`: what a user does on the first day, and
// what happens when things go wrong (wrong password, session expiry mid-edit, the server going
// away, a conflicting edit, a plugin that throws). Screenshots of the main screens go to
// build/desk-e2e (M_E2E_ARTIFACTS).
// The tests do not depend on each other or on their order (CI runs them shuffled too): each one
// makes the documents it works on, with names of its own, and the test that stops its server has
// a server (and a copy of the project) of its own. Every page runs under the Desk's
// Content-Security-Policy, and a violation of it fails the test (harness.ts: newContext).
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import type { Browser, BrowserContext, Page } from "playwright-core";
import {
  ADMIN,
  DESK_CSP,
  VIEWER,
  api,
  apiToken,
  copyProject,
  launchBrowser,
  login,
  makeProject,
  newContext,
  pick,
  screenshot,
  Server,
  takeCspViolations,
  unique,
  watchErrors,
  type Project,
} from "./harness.ts";

let template: Project; // built once (m build is the slow part); servers run on copies of it
let browser: Browser;

beforeAll(async () => {
  template = makeProject();
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  template?.cleanup();
});

afterEach(() => {
  expect(takeCspViolations()).toEqual([]);
});

interface Site {
  base: string;
  token: string; // the admin's, for changes made behind the browser's back
  server: Server;
}

/** A describe's own server, on its own copy of the project (started before its tests). */
function ownSite(): Site {
  const site = {} as Site;
  let project: Project | undefined;
  beforeAll(async () => {
    project = copyProject(template);
    site.server = new Server(project.dir);
    await site.server.start();
    site.base = site.server.url;
    site.token = await apiToken(site.base, ADMIN);
  });
  afterAll(async () => {
    await site.server?.stop();
    project?.cleanup();
  });
  return site;
}

async function adminPage(site: Site): Promise<{ ctx: BrowserContext; page: Page; errors: string[] }> {
  const ctx = await newContext(browser, { viewport: { width: 1400, height: 900 } });
  const page = await ctx.newPage();
  const errors = watchErrors(page);
  await login(page, site.base, ADMIN);
  return { ctx, page, errors };
}

/** A Customer of the calling test's own (its email is unique, as the DocType requires). */
async function newCustomer(site: Site, fields: Record<string, unknown> = {}): Promise<{ id: string; name: string; customer_name: string; email: string }> {
  const tag = unique();
  return api(site.base, site.token, "POST", "/api/v1/Customer", {
    customer_name: `Customer ${tag}`,
    email: `c-${tag}@e2e.test`,
    ...fields,
  });
}

const rowOf = (page: Page, text: string) => page.locator("tr[data-row-key]", { hasText: text });
const customersLike = (text: string) =>
  "/desk/app/Customer?filters=" + encodeURIComponent(JSON.stringify([["customer_name", "like", text]]));

describe("the Desk", () => {
  const site = ownSite();

  test("a wrong password gets a message; the right one opens the Desk, with no token in the page's reach", async () => {
    const ctx = await newContext(browser);
    const page = await ctx.newPage();
    const errors = watchErrors(page);
    await page.goto(`${site.base}/desk/`);
    await page.waitForSelector("input#email"); // not logged in: the login page
    await screenshot(page, "01-login");
    await page.fill("input#email", ADMIN.email);
    await page.fill("input#password", "not-the-password");
    await page.getByRole("button", { name: "Log in" }).click();
    await expect.poll(() => page.locator("[data-testid=login-error]").textContent()).toBeTruthy();
    expect(await page.locator("[data-testid=sidebar]").count()).toBe(0);
    await page.fill("input#password", ADMIN.password);
    const answer = page.waitForResponse((r) => r.url().endsWith("/api/v1/auth/login") && r.ok());
    await page.getByRole("button", { name: "Log in" }).click();
    await page.waitForSelector("[data-testid=sidebar]");
    // Both tokens are HttpOnly cookies; the refresh one only goes to the refresh endpoint.
    const login = await answer;
    expect(login.request().postDataJSON()).toMatchObject({ email: ADMIN.email, session: "cookie" });
    expect(await login.json()).not.toHaveProperty("refresh_token");
    const cookies = await ctx.cookies();
    const access = cookies.find((c) => c.name === "m_token");
    const refresh = cookies.find((c) => c.name === "m_refresh");
    expect(access).toMatchObject({ httpOnly: true, path: "/" });
    expect(refresh).toMatchObject({ httpOnly: true, path: "/api/v1/auth/refresh", sameSite: "Strict" });
    const seen = await page.evaluate(() => ({
      local: { ...localStorage },
      session: { ...sessionStorage },
      cookie: document.cookie,
    }));
    expect(Object.keys(seen.local).sort()).toEqual(["fm.email", "fm.session"]);
    expect(seen.session).toEqual({});
    for (const token of [access!.value, refresh!.value]) {
      expect(JSON.stringify(seen)).not.toContain(token);
    }
    expect(errors).toEqual([]);
    await ctx.close();
  });

  test("an expired access cookie is renewed silently with the refresh cookie; logout ends the session", async () => {
    const { ctx, page, errors } = await adminPage(site);
    await page.click('a[data-testid="nav-Customer"]');
    await page.waitForSelector('[data-testid=list-view][data-doctype="Customer"] tr[data-row-key]');
    // The access cookie is gone (as when it expires): the next call gets a 401 and refreshes.
    await ctx.clearCookies({ name: "m_token" });
    const refreshed = page.waitForRequest((r) => r.url().endsWith("/api/v1/auth/refresh"));
    await page.click('a[data-testid="nav-Invoice"]');
    expect((await refreshed).postDataJSON()).toEqual({ session: "cookie" });
    await page.waitForSelector('[data-testid=list-view][data-doctype="Invoice"] [data-testid=list-total]');
    expect(await page.locator("[data-testid=relogin-modal]").count()).toBe(0);
    expect((await ctx.cookies()).some((c) => c.name === "m_token")).toBe(true);

    const oldRefresh = (await ctx.cookies()).find((c) => c.name === "m_refresh")!.value;
    const loggedOut = page.waitForRequest((r) => r.url().endsWith("/api/v1/auth/logout"));
    await page.click("[data-testid=logout]");
    expect((await loggedOut).postDataJSON()).toEqual({});
    await page.waitForSelector("input#email");
    const left = (await ctx.cookies()).filter((c) => (c.name === "m_token" || c.name === "m_refresh") && c.value);
    expect(left).toEqual([]);
    expect(await page.evaluate(() => localStorage.getItem("fm.session"))).toBeNull();
    // The session is over on the server too: its refresh token is refused.
    const again = await fetch(`${site.base}/api/v1/auth/refresh`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Cookie: `m_refresh=${oldRefresh}` },
      body: JSON.stringify({ session: "cookie" }),
    });
    expect(again.status).toBe(401);
    expect(errors).toEqual([]);
    await ctx.close();
  });

  test("the Desk's pages run under its Content-Security-Policy, and a violation would be seen", async () => {
    const ctx = await newContext(browser);
    const page = await ctx.newPage();
    const res = await page.goto(`${site.base}/desk/login`);
    expect(res?.headers()["content-security-policy"]).toBe(DESK_CSP);
    await page.waitForSelector("input#email");
    expect(takeCspViolations()).toEqual([]);
    // An inline script, which script-src 'self' refuses: the harness must notice. The page's
    // securitypolicyviolation event is reported last (after the browser's console message).
    await page.addScriptTag({ content: "window.inlineRan = true;" }).catch(() => {});
    const seen: string[] = [];
    await expect.poll(() => {
      seen.push(...takeCspViolations());
      return seen.some((v) => v.includes("violation: script-src"));
    }).toBe(true);
    expect(await page.evaluate(() => (window as { inlineRan?: boolean }).inlineRan)).toBeUndefined();
    await ctx.close();
  });

  test("the sidebar has the DocTypes by group and the plugins' menus; a throwing plugin is skipped", async () => {
    const { ctx, page, errors } = await adminPage(site);
    for (const doctype of ["Customer", "Invoice", "Customer Group"]) {
      await expect.poll(() => page.locator(`a[data-testid="nav-${doctype}"]`).count()).toBe(1);
    }
    expect(await page.locator('[data-testid="nav-Invoice Item"]').count()).toBe(0); // a child table
    expect(await page.locator('[data-testid="nav-group-Selling"]').count()).toBeGreaterThan(0);
    // The demo's plugin and the scaffolded one contribute menus and pages.
    await page.click('a[data-testid="nav-plugin-billing-overview"]');
    await page.waitForSelector("[data-testid=billing-overview]");
    expect(page.url()).toContain("/desk/billing/overview");
    await screenshot(page, "02-plugin-billing-overview");
    await page.click('a[data-testid="nav-plugin-hello-home"]');
    await page.waitForSelector("[data-testid=hello-page]");
    // The plugin whose onInit throws is reported by name and contributes nothing.
    await expect.poll(() => page.locator("[data-testid=plugin-failures]").textContent()).toContain("broken");
    expect(await page.locator('a[data-testid="nav-plugin-broken-home"]').count()).toBe(0);
    expect(errors).toEqual([]);
    await ctx.close();
  });

  test("create a Customer, see it in the list, filter and sort", async () => {
    const tag = unique();
    // This test's own customers besides the one made in the form, so that the filter and the
    // sort have a known answer whatever else the database holds.
    for (const [label, limit] of [["Low", 800], ["Mid", 1200.5], ["High", 25000]] as const) {
      await newCustomer(site, { customer_name: `${label} ${tag}`, credit_limit: limit });
    }
    const total = async () => (await api<{ total: number }>(site.base, site.token, "GET", "/api/v1/Customer?count=exact&limit=1")).total;
    const before = await total();
    const { ctx, page, errors } = await adminPage(site);
    await page.click('a[data-testid="nav-Customer"]');
    await page.waitForSelector('[data-testid=list-view][data-doctype="Customer"]');
    await expect.poll(() => page.locator("[data-testid=list-total]").textContent()).toMatch(new RegExp(`\\b${before}\\b`));
    await screenshot(page, "03-customer-list");

    await page.click("[data-testid=list-new]");
    await page.waitForSelector('[data-testid=form-view][data-doctype="Customer"]');
    await page.fill("input#customer_name", `Zenith ${tag}`);
    await page.fill("input#email", `ap-${tag}@zenith.test`);
    await page.fill("input#credit_limit", "2500");
    await screenshot(page, "04-customer-new");
    await page.click("[data-testid=form-save]");
    await page.waitForURL(/\/desk\/app\/Customer\/[0-9a-f-]{36}$/);

    await page.click('a[data-testid="nav-Customer"]');
    await expect.poll(() => page.locator("[data-testid=list-total]").textContent()).toMatch(new RegExp(`\\b${before + 1}\\b`));

    // Filter: credit_limit > 1000 and the name contains the tag keeps Mid (1200.5), Zenith
    // (2500) and High (25000); Low (800) goes.
    await page.click("[data-testid=filter-add]");
    await pick(page, "[data-testid=filter-field]", "Credit Limit");
    await pick(page, "[data-testid=filter-operator]", ">");
    const value = page.locator("[data-testid=filter-value]").first();
    await ((await value.locator("input").count()) ? value.locator("input").first() : value).fill("1000");
    await page.click("[data-testid=filter-add]");
    await pick(page, "[data-testid=filter-row] >> nth=1 >> [data-testid=filter-field]", "Customer Name");
    await page.locator("[data-testid=filter-value]").nth(1).fill(tag);
    await page.click("[data-testid=filter-apply]");
    await expect.poll(() => page.locator("[data-testid=list-total]").textContent()).toMatch(/\b3\b/);
    await expect.poll(() => rowOf(page, `Zenith ${tag}`).count()).toBe(1);
    expect(await rowOf(page, `Low ${tag}`).count()).toBe(0);
    // Sort by clicking the column header: ascending, then descending.
    const header = page.getByRole("columnheader", { name: "Credit limit" });
    await header.click();
    await expect.poll(() => page.locator("tr[data-row-key]").first().textContent()).toContain(`Mid ${tag}`);
    await header.click();
    await expect.poll(() => page.locator("tr[data-row-key]").first().textContent()).toContain(`High ${tag}`);
    await screenshot(page, "05-customer-list-filtered");
    // The filter lives in the URL: a reload keeps it.
    await page.reload();
    await expect.poll(() => page.locator("[data-testid=list-total]").textContent()).toMatch(/\b3\b/);
    await expect.poll(() => page.locator("tr[data-row-key]").first().textContent()).toContain(`High ${tag}`);
    expect(errors).toEqual([]);
    await ctx.close();
  });

  test("a validation error from the server is shown on its field, and nothing is saved", async () => {
    const taken = await newCustomer(site);
    const mine = await newCustomer(site);
    const { ctx, page, errors } = await adminPage(site);
    await page.goto(`${site.base}/desk/app/Customer/${mine.id}`);
    await page.waitForSelector('[data-testid=form-view][data-doctype="Customer"]');
    await expect.poll(() => page.inputValue("input#email")).toBe(mine.email);
    // Another customer's address: unique, which only the server can know.
    await page.fill("input#email", taken.email);
    await page.click("[data-testid=form-save]");
    const fieldError = page.locator('[data-testid="field-email"] .ant-form-item-explain-error');
    await expect.poll(() => fieldError.textContent()).toContain("already exists");
    await screenshot(page, "06-customer-field-error");
    const stored = await api(site.base, site.token, "GET", `/api/v1/Customer/${mine.id}`);
    expect(stored.email).toBe(mine.email);
    expect(errors).toEqual([]);
    await ctx.close();
  });

  test("an Invoice with child rows, submitted: the form locks", async () => {
    // Picked by its title (customer_name), as a user types it, not by its name (CUST-…).
    const customer = await newCustomer(site, { customer_name: `Invoicee ${unique()}` });
    const { ctx, page, errors } = await adminPage(site);
    await page.goto(`${site.base}/desk/app/Invoice/new`);
    await page.waitForSelector('[data-testid=form-view][data-doctype="Invoice"]');
    await pick(page, '[data-testid="field-customer"]', customer.customer_name);
    await page.fill("input#posting_date", "2026-11-27");
    await page.keyboard.press("Enter");
    await page.click('[data-testid="table-items-add"]');
    await page.fill("input#items_0_item", "Consulting");
    await page.fill("input#items_0_qty", "3");
    await page.fill("input#items_0_rate", "150");
    await page.click('[data-testid="table-items-add"]');
    await page.fill("input#items_1_item", "Travel");
    await page.fill("input#items_1_qty", "1");
    await page.fill("input#items_1_rate", "80.5");
    await page.click("[data-testid=form-save]");
    await page.waitForURL(/\/desk\/app\/Invoice\/[0-9a-f-]{36}$/);
    // The controller computed the total: 3 × 150 + 80.5.
    await expect.poll(() => page.inputValue("input#total")).toMatch(/530\.5/);
    await expect.poll(() => page.locator("[data-testid=docstatus]").textContent()).toContain("Draft");
    await page.click("[data-testid=form-submit]");
    const confirm = page.locator(".ant-popconfirm, .ant-modal-confirm").getByRole("button", { name: /submit|ok|yes/i });
    if (await confirm.count()) await confirm.first().click();
    await expect.poll(() => page.locator("[data-testid=docstatus]").textContent()).toContain("Submitted");
    await expect.poll(() => page.getAttribute("[data-testid=form-view]", "data-docstatus")).toBe("1");
    expect(await page.isEditable("input#items_0_qty")).toBe(false);
    expect(await page.isEditable("input#posting_date")).toBe(false);
    await screenshot(page, "07-invoice-submitted");
    const id = page.url().split("/").pop()!;
    const stored = await api(site.base, site.token, "GET", `/api/v1/Invoice/${id}`);
    expect(stored.customer).toBe(customer.name);
    expect(stored.docstatus).toBe(1);
    expect(stored.items).toHaveLength(2);
    expect(stored.total).toBeCloseTo(530.5);
    // The version history of a track_changes DocType.
    await expect.poll(() => page.locator("[data-testid=form-versions]").count()).toBeGreaterThan(0);
    expect(errors).toEqual([]);
    await ctx.close();
  });

  test("a colleague's change shows up in open lists and forms without a reload", async () => {
    const customer = await newCustomer(site);
    const tag = customer.customer_name;
    const first = await adminPage(site);
    const second = await adminPage(site);
    await first.page.goto(site.base + customersLike(tag));
    await expect.poll(() => rowOf(first.page, tag).count()).toBe(1);
    await second.page.goto(`${site.base}/desk/app/Customer/${customer.id}`);
    await expect.poll(() => second.page.inputValue("input#email")).toBe(customer.email);
    // The first browser's list and the second's form both follow a change made elsewhere.
    const changed = `pay-${unique()}@e2e.test`;
    await api(site.base, site.token, "PUT", `/api/v1/Customer/${customer.id}`, { email: changed });
    await expect.poll(() => rowOf(first.page, tag).textContent(), { timeout: 10_000 }).toContain(changed);
    await expect.poll(() => second.page.inputValue("input#email"), { timeout: 10_000 }).toBe(changed);
    // And a change made in the second browser reaches the first one's list.
    const typed = `ar-${unique()}@e2e.test`;
    await second.page.fill("input#email", typed);
    await second.page.click("[data-testid=form-save]");
    await expect.poll(() => rowOf(first.page, tag).textContent(), { timeout: 10_000 }).toContain(typed);
    expect(first.errors).toEqual([]);
    expect(second.errors).toEqual([]);
    await first.ctx.close();
    await second.ctx.close();
  });

  test("a user without the role does not see the DocType", async () => {
    const ctx = await newContext(browser);
    const page = await ctx.newPage();
    await login(page, site.base, VIEWER);
    await expect.poll(() => page.locator('a[data-testid="nav-Customer Group"]').count()).toBe(1);
    expect(await page.locator('a[data-testid="nav-Invoice"]').count()).toBe(0);
    expect(await page.locator('a[data-testid="nav-Customer"]').count()).toBe(0);
    await ctx.close();
  });

  test("a save that conflicts with a colleague's keeps the edits and says so", async () => {
    const customer = await newCustomer(site, { credit_limit: 800 });
    const { ctx, page } = await adminPage(site);
    await page.goto(`${site.base}/desk/app/Customer/${customer.id}`);
    await expect.poll(() => page.inputValue("input#email")).toBe(customer.email);
    await page.fill("textarea#notes", "call before invoicing");
    await api(site.base, site.token, "PUT", `/api/v1/Customer/${customer.id}`, { credit_limit: 900 });
    await page.click("[data-testid=form-save]");
    await expect.poll(() => page.locator("[data-testid=form-conflict]").textContent()).toMatch(/modified by someone else/i);
    expect(await page.inputValue("textarea#notes")).toBe("call before invoicing");
    await screenshot(page, "08-conflict");
    await ctx.close();
  });

  test("an expired session mid-edit: log in again and the unsaved form is saved", async () => {
    const customer = await newCustomer(site);
    const { ctx, page } = await adminPage(site);
    await page.goto(`${site.base}/desk/app/Customer/${customer.id}`);
    await expect.poll(() => page.inputValue("input#email")).toBe(customer.email);
    await page.fill("textarea#notes", "typed before the session ended");
    // The session ends behind the page's back (revoked on the server): the save's 401 is
    // followed by a refresh with the m_refresh cookie, which the server refuses too.
    const cookie = (await ctx.cookies()).find((c) => c.name === "m_token");
    expect(cookie).toBeTruthy();
    await api(site.base, cookie!.value, "POST", "/api/v1/auth/logout", {});
    await page.click("[data-testid=form-save]");
    await page.waitForSelector("[data-testid=relogin-modal]");
    await screenshot(page, "09-relogin");
    expect(await page.inputValue("input#relogin_email")).toBe(ADMIN.email); // remembered, not a secret
    await page.fill("input#relogin_password", ADMIN.password);
    await page.locator("[data-testid=relogin-modal]").getByRole("button", { name: "Log in" }).click();
    await expect.poll(async () => (await api(site.base, site.token, "GET", `/api/v1/Customer/${customer.id}`)).notes,
      { timeout: 10_000 }).toBe("typed before the session ended");
    expect(await page.inputValue("textarea#notes")).toBe("typed before the session ended");
    await ctx.close();
  });
});

describe("the server going away", () => {
  // This test stops its server: it has one of its own, so no other test sees it down.
  const site = ownSite();

  test("a banner while it is down; the Desk recovers when it is back", async () => {
    const { ctx, page } = await adminPage(site);
    await page.click('a[data-testid="nav-Customer"]');
    await page.waitForSelector("tr[data-row-key]");
    await site.server.stop();
    await page.click('a[data-testid="nav-Invoice"]');
    await page.waitForSelector("[data-testid=server-down]", { timeout: 15_000 });
    await screenshot(page, "10-server-down");
    await site.server.start(); // the same port
    await page.waitForSelector("[data-testid=server-down]", { state: "detached", timeout: 20_000 });
    const invoices = (await api<{ total: number }>(site.base, site.token, "GET", "/api/v1/Invoice?count=exact&limit=1")).total;
    await expect.poll(() => page.locator('[data-testid=list-view][data-doctype="Invoice"] [data-testid=list-total]')
      .textContent(), { timeout: 15_000 }).toMatch(new RegExp(`\\b${invoices}\\b`));
    await ctx.close();
  });
});
