// The REST client: cookie session, CSRF header on state-changing requests, error envelope.
// The member's app uses its named calls; the coordinator pages build theirs on `request`.

import {
  CircleError,
  type JoinToken,
  type Me,
  type PasswordResetAccepted,
  type SeriesConfirmResult,
  type SessionSummary,
} from "./types";

export type FetchLike = (
  input: string,
  init?: { method?: string; headers?: Record<string, string>; body?: string; credentials?: "same-origin" },
) => Promise<{ ok: boolean; status: number; json(): Promise<unknown> }>;

export class Api {
  constructor(
    private readonly fetchImpl: FetchLike,
    /** Reads the value of the `circle_csrf` cookie (null when absent). */
    private readonly csrfToken: () => string | null,
    private readonly base = "",
  ) {}

  me(): Promise<Me> {
    return this.call<Me>("GET", "/api/me");
  }

  sessions(): Promise<SessionSummary[]> {
    return this.call<SessionSummary[]>("GET", "/api/me/sessions");
  }

  joinToken(sessionId: string): Promise<JoinToken> {
    return this.call<JoinToken>("POST", `/api/sessions/${encodeURIComponent(sessionId)}/join-token`, {});
  }

  /** "I will take part in this series" (idempotent: `new` is false the second time). */
  confirmSeries(seriesId: string | number): Promise<SeriesConfirmResult> {
    return this.call<SeriesConfirmResult>("POST", `/api/series/${encodeURIComponent(String(seriesId))}/confirm`, {});
  }

  /** Sign in with a one-click link's token (single use; the answer is the person). */
  acceptInvitation(token: string): Promise<Me> {
    return this.call<Me>("POST", "/api/auth/invitation", { token });
  }

  /** "I will take part", from the booking notice's link (the signed token is the credential). */
  confirmByLink(token: string): Promise<{ confirmed: boolean; new: boolean }> {
    return this.call<{ confirmed: boolean; new: boolean }>("POST", "/api/confirm", { token });
  }

  login(email: string, password: string): Promise<unknown> {
    return this.call("POST", "/api/auth/login", { email, password });
  }

  /** Ask for a reset link by e-mail; the same answer whether or not the address is known. */
  requestPasswordReset(email: string): Promise<PasswordResetAccepted> {
    return this.call<PasswordResetAccepted>("POST", "/api/auth/password-reset", { email });
  }

  /** Set a new password with a reset link's token; signs in (the answer is the person). */
  confirmPasswordReset(token: string, newPassword: string): Promise<Me> {
    return this.call<Me>("POST", "/api/auth/password-reset/confirm", { token, new_password: newPassword });
  }

  logout(): Promise<unknown> {
    return this.call("POST", "/api/auth/logout", {});
  }

  /** One JSON request; a refusal becomes a CircleError with the envelope's code and details.
   *  `extra` adds headers (a questionnaire form's `X-Form-Access`). */
  request<T>(method: string, path: string, body?: unknown, extra: Readonly<Record<string, string>> = {}): Promise<T> {
    return this.call<T>(method, path, body, extra);
  }

  private async call<T>(method: string, path: string, body?: unknown, extra: Readonly<Record<string, string>> = {}): Promise<T> {
    const headers: Record<string, string> = { Accept: "application/json", ...extra };
    if (method !== "GET" && method !== "HEAD") {
      const csrf = this.csrfToken();
      if (csrf !== null) headers["X-CSRF-Token"] = csrf;
    }
    const init: Parameters<FetchLike>[1] = { method, headers, credentials: "same-origin" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let res: Awaited<ReturnType<FetchLike>>;
    try {
      res = await this.fetchImpl(this.base + path, init);
    } catch (e) {
      throw new CircleError("network", e instanceof Error ? e.message : String(e));
    }
    let data: unknown = null;
    try {
      data = await res.json();
    } catch {
      data = null;
    }
    if (!res.ok) {
      const err =
        typeof data === "object" && data !== null && "error" in data
          ? (data as { error: { code?: unknown; message?: unknown; details?: unknown } }).error
          : null;
      const code = err && typeof err.code === "string" ? err.code : httpCode(res.status);
      const message = err && typeof err.message === "string" ? err.message : `HTTP ${res.status}`;
      const details =
        err && typeof err.details === "object" && err.details !== null && !Array.isArray(err.details)
          ? (err.details as Record<string, unknown>)
          : {};
      throw new CircleError(code, message, res.status, details);
    }
    return data as T;
  }
}

function httpCode(status: number): string {
  if (status === 401) return "unauthenticated";
  if (status === 403) return "forbidden";
  if (status === 404) return "not_found";
  if (status === 409) return "conflict";
  if (status === 429) return "rate_limited";
  return status >= 500 ? "internal" : "error";
}

/** The CSRF token to echo: the `__Host-` cookie on https deployments, else the plain one. */
export function csrfCookie(cookieString: string): string | null {
  return readCookie(cookieString, "__Host-circle_csrf") ?? readCookie(cookieString, "circle_csrf");
}

/** Parse one cookie out of a `document.cookie` string. */
export function readCookie(cookieString: string, name: string): string | null {
  for (const part of cookieString.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return null;
}
