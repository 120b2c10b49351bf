// Password reset without the DOM: reading the link's URL fragment, checking a new password
// before it is sent, and which message a refused link gets.

/** The server's policy (server/auth/passwords.py), counted in characters as Python does. */
export const MIN_PASSWORD = 10;
export const MAX_PASSWORD = 256;

// A signed link: base64url(payload) "." base64url(mac), at most 1024 characters.
const TOKEN = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const MAX_TOKEN = 1024;

// A series confirmation link: a signed token too (older ones: series.person.mac).
const CONFIRM_TOKEN = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+){1,2}$/;

/** The one-click links the app redeems: their token rides in the fragment, which browsers never
 * send to a server, and is spent only by a POST after the person clicks (a mail scanner that
 * fetches the link spends nothing). */
export type LinkKind = "reset" | "signin" | "confirm";

/**
 * What the fragment of the app's URL asks for: `#reset=<token>`, `#signin=<token>`,
 * `#confirm=<token>` or `#forgot`.
 */
export type AuthFragment = { kind: LinkKind; token: string | null } | { kind: "forgot" } | null;

/**
 * Parse `location.hash`. A link fragment whose token cannot be a link gives `token: null` (the
 * page says the link is not valid instead of sending it).
 */
export function parseAuthFragment(hash: string): AuthFragment {
  const text = hash.startsWith("#") ? hash.slice(1) : hash;
  if (text === "forgot") return { kind: "forgot" };
  const eq = text.indexOf("=");
  const kind = text.slice(0, eq);
  if (eq < 0 || (kind !== "reset" && kind !== "signin" && kind !== "confirm")) return null;
  const raw = text.slice(eq + 1);
  let token: string;
  try {
    token = decodeURIComponent(raw);
  } catch {
    return { kind, token: null };
  }
  const shape = kind === "confirm" ? CONFIRM_TOKEN : TOKEN;
  return { kind, token: token.length <= MAX_TOKEN && shape.test(token) ? token : null };
}

export type PasswordProblem = "short" | "long" | "mismatch";

/** Why a new password (typed twice) would be refused, or null. */
export function checkNewPassword(password: string, repeat: string): PasswordProblem | null {
  const length = [...password].length;
  if (length < MIN_PASSWORD) return "short";
  if (length > MAX_PASSWORD) return "long";
  if (password !== repeat) return "mismatch";
  return null;
}

/** The message for a reset link the server refused, by error code; null for other errors. */
export function linkProblem(code: string): "reset.used" | "reset.expired" | "reset.invalid" | null {
  if (code === "used") return "reset.used";
  if (code === "expired" || code === "gone") return "reset.expired";
  if (code === "unauthenticated" || code === "invalid") return "reset.invalid";
  return null;
}
