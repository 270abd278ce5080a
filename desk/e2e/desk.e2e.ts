// The Desk in a real browser against a real `m serve`: what a user does on the first day, and
// what happens when things go wrong (wrong password, session expiry mid-edit, the server going
// away, a conflicting edit, a plugin that throws). Screenshots of the main screens go to
// build/desk-e2e (M_E2E_ARTIFACTS).
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Browser, BrowserContext, Page } from "playwright-core";
import {
  ADMIN,
  VIEWER,
  api,
  apiToken,
  launchBrowser,
  login,
  makeProject,
  pick,
  screenshot,
  Server,
  watchErrors,
  type Project,
} from "./harness.ts";

let project: Project;
let server: Server;
let browser: Browser;
let base: string;
let token: string; // the admin's, for changes made behind the browser's back

beforeAll(async () => {
  project = makeProject();
  server = new Server(project.dir);
  await server.start();
  base = server.url;
  browser = await launchBrowser();
  token = await apiToken(base, ADMIN);
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  project?.cleanup();
});

async function adminPage(): Promise<{ ctx: BrowserContext; page: Page; errors: string[] }> {
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await ctx.newPage();
  const errors = watchErrors(page);
  await login(page, base, ADMIN);
  return { ctx, page, errors };
}

const rowOf = (page: Page, text: string) => page.locator("tr[data-row-key]", { hasText: text });

describe("the Desk", () => {
  test("a wrong password gets a message; the right one opens the Desk", async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    const errors = watchErrors(page);
    await page.goto(`${base}/desk/`);
    await page.waitForSelector("input#email"); // not logged in: the login page
    await screenshot(page, "01-login");
    await page.fill("input#email", ADMIN.email);
    await page.fill("input#password", "not-the-password");
    await page.getByRole("button", { name: "Log in" }).click();
    await expect.poll(() => page.locator("[data-testid=login-error]").textContent()).toBeTruthy();
    expect(await page.locator("[data-testid=sidebar]").count()).toBe(0);
    await page.fill("input#password", ADMIN.password);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.waitForSelector("[data-testid=sidebar]");
    expect(errors).toEqual([]);
    await ctx.close();
  });

  test("the sidebar has the DocTypes by group and the plugins' menus; a throwing plugin is skipped", async () => {
    const { ctx, page, errors } = await adminPage();
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
    const { ctx, page, errors } = await adminPage();
    await page.click('a[data-testid="nav-Customer"]');
    await page.waitForSelector('[data-testid=list-view][data-doctype="Customer"]');
    // The demo's five sample customers.
    await expect.poll(() => page.locator("[data-testid=list-total]").textContent()).toMatch(/\b5\b/);
    await screenshot(page, "03-customer-list");

    await page.click("[data-testid=list-new]");
    await page.waitForSelector('[data-testid=form-view][data-doctype="Customer"]');
    await page.fill("input#customer_name", "Zenith Ltd");
    await page.fill("input#email", "ap@zenith.test");
    await page.fill("input#credit_limit", "2500");
    await screenshot(page, "04-customer-new");
    await page.click("[data-testid=form-save]");
    await page.waitForURL(/\/desk\/app\/Customer\/[0-9a-f-]{36}$/);

    await page.click('a[data-testid="nav-Customer"]');
    await expect.poll(() => page.locator("[data-testid=list-total]").textContent()).toMatch(/\b6\b/);
    await expect.poll(() => rowOf(page, "Zenith Ltd").count()).toBe(1);

    // Filter: credit_limit > 1000 keeps Acme (5000), Globex (1200.5), Umbrella (25000) and
    // Zenith (2500); Initech (800) and Stark (0) go.
    await page.click("[data-testid=filter-add]");
    await pick(page, "[data-testid=filter-field]", "Credit Limit");
    await pick(page, "[data-testid=filter-operator]", ">");
    const value = page.locator("[data-testid=filter-value]");
    await (await value.locator("input").count() ? value.locator("input").first() : value).fill("1000");
    await page.click("[data-testid=filter-apply]");
    await expect.poll(() => page.locator("[data-testid=list-total]").textContent()).toMatch(/\b4\b/);
    expect(await rowOf(page, "Initech").count()).toBe(0);
    // Sort by clicking the column header: ascending, then descending.
    const header = page.getByRole("columnheader", { name: "Credit limit" });
    await header.click();
    await expect.poll(() => page.locator("tr[data-row-key]").first().textContent()).toContain("Globex");
    await header.click();
    await expect.poll(() => page.locator("tr[data-row-key]").first().textContent()).toContain("Umbrella");
    await screenshot(page, "05-customer-list-filtered");
    // The filter lives in the URL: a reload keeps it.
    await page.reload();
    await expect.poll(() => page.locator("[data-testid=list-total]").textContent()).toMatch(/\b4\b/);
    await expect.poll(() => page.locator("tr[data-row-key]").first().textContent()).toContain("Umbrella");
    expect(errors).toEqual([]);
    await ctx.close();
  });

  test("a validation error from the server is shown on its field, and nothing is saved", async () => {
    const { ctx, page, errors } = await adminPage();
    const zenith = (await api(base, token, "GET", "/api/v1/Customer?filters=" +
      encodeURIComponent(JSON.stringify([["customer_name", "eq", "Zenith Ltd"]])))).items[0];
    await page.goto(`${base}/desk/app/Customer/${zenith.id}`);
    await page.waitForSelector('[data-testid=form-view][data-doctype="Customer"]');
    await expect.poll(() => page.inputValue("input#email")).toBe("ap@zenith.test");
    // Acme's address: unique, which only the server can know.
    await page.fill("input#email", "billing@acme.test");
    await page.click("[data-testid=form-save]");
    const fieldError = page.locator('[data-testid="field-email"] .ant-form-item-explain-error');
    await expect.poll(() => fieldError.textContent()).toContain("already exists");
    await screenshot(page, "06-customer-field-error");
    const stored = await api(base, token, "GET", `/api/v1/Customer/${zenith.id}`);
    expect(stored.email).toBe("ap@zenith.test");
    expect(errors).toEqual([]);
    await ctx.close();
  });

  test("an Invoice with child rows, submitted: the form locks", async () => {
    const { ctx, page, errors } = await adminPage();
    await page.goto(`${base}/desk/app/Invoice/new`);
    await page.waitForSelector('[data-testid=form-view][data-doctype="Invoice"]');
    await pick(page, '[data-testid="field-customer"]', "Acme");
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
    const stored = await api(base, token, "GET", `/api/v1/Invoice/${id}`);
    expect(stored.docstatus).toBe(1);
    expect(stored.items).toHaveLength(2);
    expect(stored.total).toBeCloseTo(530.5);
    // The version history of a track_changes DocType.
    await expect.poll(() => page.locator("[data-testid=form-versions]").count()).toBeGreaterThan(0);
    expect(errors).toEqual([]);
    await ctx.close();
  });

  test("a colleague's change shows up in open lists and forms without a reload", async () => {
    const first = await adminPage();
    const second = await adminPage();
    const globex = (await api(base, token, "GET", "/api/v1/Customer?filters=" +
      encodeURIComponent(JSON.stringify([["customer_name", "eq", "Globex"]])))).items[0];
    await first.page.goto(`${base}/desk/app/Customer`);
    await expect.poll(() => rowOf(first.page, "Globex").count()).toBe(1);
    await second.page.goto(`${base}/desk/app/Customer/${globex.id}`);
    await expect.poll(() => second.page.inputValue("input#email")).toBe("ap@globex.test");
    // The first browser's list and the second's form both follow a change made elsewhere.
    await api(base, token, "PUT", `/api/v1/Customer/${globex.id}`, { email: "pay@globex.test" });
    await expect.poll(() => rowOf(first.page, "Globex").textContent(), { timeout: 10_000 }).toContain("pay@globex.test");
    await expect.poll(() => second.page.inputValue("input#email"), { timeout: 10_000 }).toBe("pay@globex.test");
    // And a change made in the second browser reaches the first one's list.
    await second.page.fill("input#email", "ar@globex.test");
    await second.page.click("[data-testid=form-save]");
    await expect.poll(() => rowOf(first.page, "Globex").textContent(), { timeout: 10_000 }).toContain("ar@globex.test");
    expect(first.errors).toEqual([]);
    expect(second.errors).toEqual([]);
    await first.ctx.close();
    await second.ctx.close();
  });

  test("a user without the role does not see the DocType", async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await login(page, base, VIEWER);
    await expect.poll(() => page.locator('a[data-testid="nav-Customer Group"]').count()).toBe(1);
    expect(await page.locator('a[data-testid="nav-Invoice"]').count()).toBe(0);
    expect(await page.locator('a[data-testid="nav-Customer"]').count()).toBe(0);
    await ctx.close();
  });

  test("a save that conflicts with a colleague's keeps the edits and says so", async () => {
    const { ctx, page } = await adminPage();
    const initech = (await api(base, token, "GET", "/api/v1/Customer?filters=" +
      encodeURIComponent(JSON.stringify([["customer_name", "eq", "Initech"]])))).items[0];
    await page.goto(`${base}/desk/app/Customer/${initech.id}`);
    await expect.poll(() => page.inputValue("input#email")).toBe("finance@initech.test");
    await page.fill("textarea#notes", "call before invoicing");
    await api(base, token, "PUT", `/api/v1/Customer/${initech.id}`, { credit_limit: 900 });
    await page.click("[data-testid=form-save]");
    await expect.poll(() => page.locator("[data-testid=form-conflict]").textContent()).toMatch(/modified by someone else/i);
    expect(await page.inputValue("textarea#notes")).toBe("call before invoicing");
    await screenshot(page, "08-conflict");
    await ctx.close();
  });

  test("an expired session mid-edit: log in again and the unsaved form is saved", async () => {
    const { ctx, page } = await adminPage();
    const acme = (await api(base, token, "GET", "/api/v1/Customer?filters=" +
      encodeURIComponent(JSON.stringify([["customer_name", "eq", "Acme Corporation"]])))).items[0];
    await page.goto(`${base}/desk/app/Customer/${acme.id}`);
    await expect.poll(() => page.inputValue("input#email")).toBe("billing@acme.test");
    await page.fill("textarea#notes", "typed before the session ended");
    // The session ends behind the page's back: its access token is revoked, its refresh token gone.
    const cookie = (await ctx.cookies()).find((c) => c.name === "m_token");
    expect(cookie).toBeTruthy();
    await api(base, cookie!.value, "POST", "/api/v1/auth/logout");
    await page.evaluate(() => localStorage.clear());
    await page.click("[data-testid=form-save]");
    await page.waitForSelector("[data-testid=relogin-modal]");
    await screenshot(page, "09-relogin");
    await page.fill("input#relogin_email", ADMIN.email); // storage was cleared with the tokens
    await page.fill("input#relogin_password", ADMIN.password);
    await page.locator("[data-testid=relogin-modal]").getByRole("button", { name: "Log in" }).click();
    await expect.poll(async () => (await api(base, token, "GET", `/api/v1/Customer/${acme.id}`)).notes,
      { timeout: 10_000 }).toBe("typed before the session ended");
    expect(await page.inputValue("textarea#notes")).toBe("typed before the session ended");
    await ctx.close();
  });

  test("the server going away shows a banner; the Desk recovers when it is back", async () => {
    const { ctx, page } = await adminPage();
    await page.click('a[data-testid="nav-Customer"]');
    await page.waitForSelector("tr[data-row-key]");
    await server.stop();
    await page.click('a[data-testid="nav-Invoice"]');
    await page.waitForSelector("[data-testid=server-down]", { timeout: 15_000 });
    await screenshot(page, "10-server-down");
    await server.start(); // the same port
    await page.waitForSelector("[data-testid=server-down]", { state: "detached", timeout: 20_000 });
    const invoices = (await api(base, token, "GET", "/api/v1/Invoice?count=exact&limit=1")).total;
    await expect.poll(() => page.locator('[data-testid=list-view][data-doctype="Invoice"] [data-testid=list-total]')
      .textContent(), { timeout: 15_000 }).toMatch(new RegExp(`\\b${invoices}\\b`));
    await ctx.close();
  });
});
