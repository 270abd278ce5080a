// Time until the Desk's list view is interactive, in Debian's headless Chromium driven by the
// Desk's playwright-core: from navigation start to the first row + the total shown, then a click
// on page 2 until its rows replace page 1's. Cold = a new browser context each run (nothing
// cached); warm = the same page navigating again.
// Usage: node bench/desk/list.mjs <base-url> <email> <password> <runs> <rows>
import { fileURLToPath, pathToFileURL } from "node:url";
import { dirname, join } from "node:path";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const { chromium } = await import(
  pathToFileURL(join(repo, "desk/node_modules/playwright-core/index.mjs")).href
);
const [base, email, password, runsArg, rowsArg] = process.argv.slice(2);
const runs = Number(runsArg);
const browser = await chromium.launch({
  executablePath: process.env.M_CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});

async function loggedIn() {
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const r = await ctx.request.post(`${base}/api/v1/auth/login`, { data: { email, password } });
  if (!r.ok()) throw new Error(`login: ${r.status()} ${await r.text()}`);
  const tokens = await r.json();
  // The Desk keeps the refresh token for later; the cookie set by the login authenticates.
  await ctx.addInitScript((t) => localStorage.setItem("fm.refresh_token", t), tokens.refresh_token);
  return ctx;
}

async function openList(page) {
  const t0 = Date.now();
  await page.goto(`${base}/desk/app/Customer`);
  await page.waitForSelector("tr[data-row-key]");
  await page.waitForFunction(
    (n) => document.querySelector("[data-testid=list-total]")?.textContent?.includes(n),
    Number(rowsArg).toLocaleString("en-US").replace(/,/g, ""),
  ).catch(() => {});
  const shown = Date.now() - t0;
  const first = await page.locator("tr[data-row-key]").first().getAttribute("data-row-key");
  await page.locator(".ant-pagination-next").click();
  await page.waitForFunction(
    (id) => {
      const row = document.querySelector("tr[data-row-key]");
      return row && row.getAttribute("data-row-key") !== id;
    },
    first,
  );
  return { shown, interactive: Date.now() - t0 };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const cold = [];
const warm = [];
const shown = [];
for (let i = 0; i < runs; i++) {
  const ctx = await loggedIn();
  const page = await ctx.newPage();
  const c = await openList(page);
  cold.push(c.interactive);
  shown.push(c.shown);
  warm.push((await openList(page)).interactive);
  await ctx.close();
}
await browser.close();
console.log(`first rows shown, cold: ${shown.join(" ")} ms; median ${median(shown)} ms`);
console.log(`list view interactive, cold (runs: ${cold.join(" ")}): median ${median(cold)} ms`);
console.log(`list view interactive, warm (runs: ${warm.join(" ")}): median ${median(warm)} ms`);
