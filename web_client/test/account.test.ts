import { describe, expect, it } from "vitest";
import { Api, type FetchLike } from "../src/protocol/api";
import { MAX_PASSWORD, MIN_PASSWORD, checkNewPassword, linkProblem, parseAuthFragment } from "../src/protocol/account";

const TOKEN = "eyJleHAiOjE3OTk5OTk5OTksIm4iOiJhYmMiLCJwIjo0Mn0.c2lnbmF0dXJlLWJ5dGVzXy0";

describe("the reset link's fragment", () => {
  it("reads a reset token and the forgot form", () => {
    expect(parseAuthFragment(`#reset=${TOKEN}`)).toEqual({ kind: "reset", token: TOKEN });
    expect(parseAuthFragment(`reset=${encodeURIComponent(TOKEN)}`)).toEqual({ kind: "reset", token: TOKEN });
    expect(parseAuthFragment("#forgot")).toEqual({ kind: "forgot" });
  });

  it("ignores other fragments", () => {
    for (const hash of ["", "#", "#main", "#/outbox", "#forgotten", "#resetx=abc", "#Reset=a.b"]) {
      expect(parseAuthFragment(hash), hash).toBeNull();
    }
  });

  it("refuses tokens that cannot be a signed link", () => {
    const bad = ["", "abc", "a.b.c", "a b.c", "<script>.x", "a.b%", `${"a".repeat(1020)}.bcdef`, "%E0%A4%A"];
    for (const token of bad) {
      expect(parseAuthFragment(`#reset=${token}`), token).toEqual({ kind: "reset", token: null });
    }
  });
});

describe("one-click sign-in and confirmation links", () => {
  it("reads their token from the fragment, never from the path", () => {
    expect(parseAuthFragment(`#signin=${TOKEN}`)).toEqual({ kind: "signin", token: TOKEN });
    expect(parseAuthFragment(`#confirm=${TOKEN}`)).toEqual({ kind: "confirm", token: TOKEN });
    expect(parseAuthFragment("#confirm=12.34.0123abcdef")).toEqual({ kind: "confirm", token: "12.34.0123abcdef" });
  });

  it("refuses tokens that cannot be a link", () => {
    for (const token of ["", "abc", "<script>.x", "a b.c", "%E0%A4%A"]) {
      expect(parseAuthFragment(`#signin=${token}`), token).toEqual({ kind: "signin", token: null });
    }
    expect(parseAuthFragment("#confirm=a.b.c.d")).toEqual({ kind: "confirm", token: null });
    expect(parseAuthFragment("#signinx=a.b")).toBeNull();
  });
});

describe("a new password", () => {
  it("follows the server's policy, counted in characters", () => {
    expect(checkNewPassword("a".repeat(MIN_PASSWORD - 1), "a".repeat(MIN_PASSWORD - 1))).toBe("short");
    expect(checkNewPassword("a".repeat(MIN_PASSWORD), "a".repeat(MIN_PASSWORD))).toBeNull();
    expect(checkNewPassword("a".repeat(MAX_PASSWORD + 1), "a".repeat(MAX_PASSWORD + 1))).toBe("long");
    // Five emoji are ten UTF-16 units but five characters: too short for the server.
    expect(checkNewPassword("😀".repeat(5), "😀".repeat(5))).toBe("short");
  });

  it("must be typed the same twice", () => {
    expect(checkNewPassword("correct horse battery", "correct horse batterY")).toBe("mismatch");
    expect(checkNewPassword("correct horse battery", "correct horse battery")).toBeNull();
  });

  it("maps refused links to their messages", () => {
    expect(linkProblem("used")).toBe("reset.used");
    expect(linkProblem("expired")).toBe("reset.expired");
    expect(linkProblem("unauthenticated")).toBe("reset.invalid");
    expect(linkProblem("weak_password")).toBeNull();
    expect(linkProblem("rate_limited")).toBeNull();
  });
});

describe("the reset calls", () => {
  it("send the CSRF header and the documented bodies, and surface the error code", async () => {
    const calls: { url: string; init: Parameters<FetchLike>[1] }[] = [];
    const answers = [
      { ok: true, status: 202, body: { accepted: true, link_ttl_minutes: 60 } },
      { ok: false, status: 410, body: { error: { code: "used", message: "used" } } },
    ];
    const fetchImpl: FetchLike = (url, init) => {
      calls.push({ url, init });
      const a = answers.shift();
      if (!a) throw new Error("unexpected call");
      return Promise.resolve({ ok: a.ok, status: a.status, json: () => Promise.resolve(a.body) });
    };
    const api = new Api(fetchImpl, () => "csrf-value");
    expect(await api.requestPasswordReset("me@example.org")).toEqual({ accepted: true, link_ttl_minutes: 60 });
    await expect(api.confirmPasswordReset(TOKEN, "a new passphrase")).rejects.toMatchObject({ code: "used", status: 410 });
    expect(calls.map((c) => [c.url, c.init?.method, c.init?.headers?.["X-CSRF-Token"], c.init?.body])).toEqual([
      ["/api/auth/password-reset", "POST", "csrf-value", JSON.stringify({ email: "me@example.org" })],
      ["/api/auth/password-reset/confirm", "POST", "csrf-value", JSON.stringify({ token: TOKEN, new_password: "a new passphrase" })],
    ]);
  });
});
