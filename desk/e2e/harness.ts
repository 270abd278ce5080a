// Test harness of the Desk's end-to-end tests: a throwaway project (the demo + two scaffolded
// plugins, one of which throws in onInit), copies of it for tests that need their own server, a
// real `m serve` on a free port, and headless Chromium (Debian's /usr/bin/chromium; never a
// downloaded browser) whose contexts enforce the Desk's Content-Security-Policy and record every
// violation of it.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { cpSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  chromium,
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  type Page,
  type Route,
} from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const repo = resolve(here, "..", "..");

export const ADMIN = { email: "admin@demo.test", password: "demo-admin-pass" };
export const VIEWER = { email: "viewer@demo.test", password: "viewer-pass-123" };

/** Where screenshots go: M_E2E_ARTIFACTS, else build/desk-e2e in the source tree. */
export const artifacts = process.env.M_E2E_ARTIFACTS ?? join(repo, "build", "desk-e2e");

function mBinary(): string {
  const bin = process.env.M_BIN;
  if (!bin) {
    throw new Error(
      "M_BIN is not set: the path of the m executable to test, e.g. " +
        "M_BIN=$(realpath ../build/test/cli/m) npm run e2e",
    );
  }
  return bin;
}

/** A short random tag, so each test's documents have names no other test uses. */
export function unique(): string {
  return randomUUID().slice(0, 8);
}

// The environment of the m processes: Vitest's NODE_ENV=test would make `m build`'s `vite build`
// a development build of the Desk (React and antd in development mode, no build-time styles),
// and the tests must see the Desk users get.
function mEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_ENV;
  return env;
}

/** Runs `m` in the project; throws with its stderr when it fails. */
export function m(project: string, args: string[], input?: string): string {
  const r = spawnSync(mBinary(), args, { cwd: project, input, encoding: "utf8", env: mEnv() });
  if (r.status !== 0) {
    throw new Error(`m ${args.join(" ")} exited ${r.status}: ${r.stderr.trim()}`);
  }
  return r.stdout;
}

export interface Project {
  dir: string;
  cleanup(): void;
}

/** The demo project with its sample customers, an administrator, a user without roles, and two
 *  extra apps made by `m new app --with-frontend`: `hello` (as scaffolded) and `broken` (its
 *  plugin throws in onInit). `m build` builds the C++ and the Desk with the three plugins. */
export function makeProject(): Project {
  const root = mkdtempSync(join(tmpdir(), "m-desk-e2e-"));
  try {
    return buildProject(root);
  } catch (e) {
    rmSync(root, { recursive: true, force: true }); // no half-made project left behind
    throw e;
  }
}

function buildProject(root: string): Project {
  const dir = join(root, "demo");
  cpSync(join(repo, "examples", "demo"), dir, { recursive: true });
  writeFileSync(join(dir, ".env"), "M_SECRET_KEY=e2e-secret-e2e-secret-e2e-secret-0123\n");
  const config = join(dir, "framework_config.toml");
  writeFileSync(
    config,
    readFileSync(config, "utf8").replace(
      /installed = \[.*\]/,
      'installed = ["billing", "hello", "broken"]',
    ),
  );
  m(dir, ["new", "app", "hello", "--with-frontend"]);
  m(dir, ["new", "app", "broken", "--with-frontend"]);
  const brokenConfig = join(dir, "apps", "broken", "frontend", "src", "plugin.config.ts");
  writeFileSync(
    brokenConfig,
    readFileSync(brokenConfig, "utf8").replace(
      'app_id: "broken",',
      'app_id: "broken",\n  onInit() {\n    throw new Error("broken on purpose");\n  },',
    ),
  );
  m(dir, ["build"]);
  m(dir, ["migrate"]);
  m(dir, ["doc", "insert", "Customer"], readFileSync(join(dir, "sample", "customers.jsonl"), "utf8"));
  m(
    dir,
    ["user", "create", ADMIN.email, "--role", "Admin", "--role", "Sales User", "--role",
      "Sales Manager", "--full-name", "Demo Admin", "--password-stdin"],
    ADMIN.password,
  );
  m(dir, ["user", "create", VIEWER.email, "--full-name", "Vera Viewer", "--password-stdin"],
    VIEWER.password);
  return { dir, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** A copy of a built project (its Desk, apps and SQLite database in .m/), for a server of its
 *  own; `m build` is not run again. The source must have no server running. */
export function copyProject(from: Project): Project {
  const root = mkdtempSync(join(tmpdir(), "m-desk-e2e-"));
  const dir = join(root, basename(from.dir));
  cpSync(from.dir, dir, { recursive: true });
  return { dir, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

export class Server {
  private child?: ChildProcess;
  port = 0;
  log = "";

  constructor(private readonly project: string) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts `m serve` (port 0 = a free one the first time; the same port on a restart). */
  async start(): Promise<void> {
    const child = spawn(mBinary(), ["serve", "--port", String(this.port)], {
      cwd: this.project,
      env: mEnv(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child = child;
    const onData = (chunk: Buffer) => {
      this.log += chunk.toString();
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const found = /listening on http:\/\/[^:]+:(\d+)/.exec(this.log);
      if (found) {
        this.port = Number(found[1]);
        return;
      }
      if (child.exitCode !== null) throw new Error(`m serve exited ${child.exitCode}: ${this.log}`);
      if (Date.now() > deadline) throw new Error(`m serve did not start: ${this.log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await exited;
    this.log = "";
  }
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.M_CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** Exactly what the server sends on every /desk/ response (docs/ARCHITECTURE.md). */
export const DESK_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; " +
  "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; " +
  "frame-ancestors 'none'";

const cspViolations: string[] = [];

/** The Content-Security-Policy violations seen since the last call (and forgets them). */
export function takeCspViolations(): string[] {
  return cspViolations.splice(0);
}

const isDesk = (url: URL) => url.pathname === "/desk" || url.pathname.startsWith("/desk/");

// A document's policy comes from its own response (a policy sent with a script or a stylesheet
// does nothing), so documents are the responses that need the header; anything else goes on to
// the server untouched instead of taking a detour through this process.
async function withDeskCsp(route: Route): Promise<void> {
  if (route.request().resourceType() !== "document") return route.continue();
  let response;
  try {
    response = await route.fetch({ maxRedirects: 0 });
  } catch {
    return route.continue().catch(() => {}); // the server is down: let the browser see it fail
  }
  const headers = { ...response.headers() };
  const sent = headers["content-security-policy"];
  if (sent === undefined) headers["content-security-policy"] = DESK_CSP;
  else if (sent !== DESK_CSP) {
    cspViolations.push(`${route.request().url()}: the server's policy is not the Desk's: ${sent}`);
  }
  // The body arrives decoded: its encoding and length headers no longer apply.
  delete headers["content-encoding"];
  delete headers["content-length"];
  await route.fulfill({ response, headers });
}

/**
 * A browser context whose /desk/ pages are under DESK_CSP: the server's header when it sends one,
 * else the same policy added here, so the check means the same either way. Every violation (the
 * page's securitypolicyviolation events and the browser's "Content Security Policy" console
 * messages) is recorded for takeCspViolations().
 */
export async function newContext(browser: Browser, options?: BrowserContextOptions): Promise<BrowserContext> {
  const ctx = await browser.newContext(options);
  await ctx.route(isDesk, withDeskCsp);
  // An init script is not subject to the page's policy, so it can always report.
  await ctx.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      console.error(
        `Content Security Policy violation: ${e.violatedDirective} blocked ${e.blockedURI || "(inline)"}` +
          ` in ${e.sourceFile || e.documentURI}:${e.lineNumber}`,
      );
    });
  });
  ctx.on("console", (msg) => {
    if (/Content Security Policy/i.test(msg.text())) cspViolations.push(`${msg.page()?.url()}: ${msg.text()}`);
  });
  return ctx;
}

/** Collects the page's console errors and uncaught exceptions, so a test can assert none. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  return errors;
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}

export async function login(page: Page, base: string, who: { email: string; password: string }) {
  await page.goto(`${base}/desk/login`);
  await page.fill("input#email", who.email);
  await page.fill("input#password", who.password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForSelector("[data-testid=sidebar]");
}

/**
 * Picks `text` in an antd Select: open it, type to search, take the matching option. A link
 * field's dropdown says which query its options answer and whether the next answer is pending
 * (data-query, data-loading on [data-testid=link-options]): wait until they are the typed text's,
 * so the option clicked is one the search found, not one from before it.
 */
export async function pick(page: Page, selector: string, text: string): Promise<void> {
  await page.click(`${selector} .ant-select-selector`);
  await page.keyboard.type(text);
  // This Select's own dropdown (another one may still be fading out): the one holding the
  // listbox its search input controls.
  const listId = await page.locator(`${selector} input[aria-controls]`).first().getAttribute("aria-controls");
  const dropdown = page.locator(`.ant-select-dropdown:visible:has([id=${JSON.stringify(listId)}])`);
  await dropdown.waitFor();
  if (await dropdown.locator("[data-testid=link-options]").count()) {
    await dropdown
      .locator(`[data-testid=link-options][data-query=${JSON.stringify(text.trim())}][data-loading="false"]`)
      .waitFor();
  }
  await dropdown.locator(".ant-select-item-option", { hasText: text }).first().click();
}

/** A bearer token for API calls made behind the browser's back (a colleague's change). */
export async function apiToken(base: string, who: { email: string; password: string }) {
  const r = await fetch(`${base}/api/v1/auth/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(who),
  });
  if (!r.ok) throw new Error(`login failed: ${r.status} ${await r.text()}`);
  return ((await r.json()) as { access_token: string }).access_token;
}

/** A call to the REST API; the reply's JSON is taken to be a `T` (a record of fields by default). */
export async function api<T = Record<string, unknown>>(
  base: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  return (text ? JSON.parse(text) : null) as T;
}
