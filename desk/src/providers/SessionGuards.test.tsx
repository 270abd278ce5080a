import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { act, cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { SessionGuards } from "./SessionGuards";
import { configureHttp } from "./http";
import { loggedIn, markExpired, resetSessionForTests, rememberLogin, sessionStore, setServerDown } from "./session";
import { json, mockFetch, specError } from "./test-utils";

const realFetch = globalThis.fetch;

function mount() {
  const qc = new QueryClient();
  const invalidate = vi.spyOn(qc, "invalidateQueries");
  render(
    <QueryClientProvider client={qc}>
      <SessionGuards />
    </QueryClientProvider>,
  );
  return { invalidate };
}

beforeEach(() => resetSessionForTests());
afterEach(() => {
  cleanup();
  act(() => setServerDown(false));
  configureHttp({ fetch: (...a) => realFetch(...a) });
});

describe("SessionGuards", () => {
  it("renders nothing while all is well", () => {
    mount();
    expect(screen.queryByTestId("relogin-modal")).toBeNull();
    expect(screen.queryByTestId("server-down")).toBeNull();
  });

  it("re-login modal: email prefilled, wrong password shows the server error, right one closes it", async () => {
    const m = mockFetch((c) =>
      (c.body as { password: string }).password === "right"
        ? json(200, { access_token: "A", token_type: "bearer", expires_in: 900 })
        : specError(401, "PermissionDenied", "invalid email or password"),
    );
    configureHttp({ fetch: m.fn });
    rememberLogin("admin@demo.test");
    mount();
    act(() => markExpired());
    await screen.findByTestId("relogin-modal");
    const email = document.getElementById("relogin_email") as HTMLInputElement;
    const password = document.getElementById("relogin_password") as HTMLInputElement;
    expect(email.value).toBe("admin@demo.test");
    fireEvent.change(password, { target: { value: "wrong" } });
    fireEvent.click(screen.getByRole("button", { name: /log in/i }));
    expect(await screen.findByText("invalid email or password")).toBeTruthy();
    expect(sessionStore.getSnapshot().expired).toBe(true);
    fireEvent.change(password, { target: { value: "right" } });
    fireEvent.click(screen.getByRole("button", { name: /log in/i }));
    await waitFor(() => expect(sessionStore.getSnapshot().expired).toBe(false));
    expect(m.calls.at(-1)?.body).toEqual({ email: "admin@demo.test", password: "right", session: "cookie" });
  });

  it("re-login modal: a session that ends again opens it without the last time's error", async () => {
    configureHttp({ fetch: mockFetch(() => specError(401, "PermissionDenied", "invalid email or password")).fn });
    rememberLogin("admin@demo.test");
    mount();
    act(() => markExpired());
    await screen.findByTestId("relogin-modal");
    fireEvent.change(document.getElementById("relogin_password")!, { target: { value: "wrong" } });
    fireEvent.click(screen.getByRole("button", { name: /log in/i }));
    expect(await screen.findByTestId("relogin-error")).toBeTruthy();
    act(() => loggedIn("admin@demo.test")); // logged in again elsewhere (another tab): it closes
    expect(sessionStore.getSnapshot().expired).toBe(false);
    act(() => markExpired());
    await screen.findByTestId("relogin-modal");
    await waitFor(() => expect(screen.queryByTestId("relogin-error")).toBeNull());
  });

  it("server-down banner while down; queries invalidated when it is back", async () => {
    const { invalidate } = mount();
    act(() => setServerDown(true));
    expect(screen.getByTestId("server-down").textContent).toContain("Cannot reach the server — retrying…");
    expect(invalidate).not.toHaveBeenCalled();
    act(() => setServerDown(false));
    expect(screen.queryByTestId("server-down")).toBeNull();
    expect(invalidate).toHaveBeenCalledTimes(1);
  });
});
