// Password reset without the DOM: reading the link's URL fragment, checking a new password
// before it is sent, and which message a refused link gets.

/** The server's policy (server/auth/passwords.py), counted in characters as Python does. */
export const MIN_PASSWORD = 10;
export const MAX_PASSWORD = 256;

// A signed link: base64url(payload) "." base64url(mac), at most 1024 characters.
const TOKEN = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const MAX_TOKEN = 1024;

/** What the fragment of the app's URL asks for: `#reset=<token>` or `#forgot`. */
export type AuthFragment = { kind: "reset"; token: string | null } | { kind: "forgot" } | null;

/**
 * Parse `location.hash`. A reset fragment whose token cannot be a link gives `token: null` (the
 * page says the link is not valid instead of sending it).
 */
export function parseAuthFragment(hash: string): AuthFragment {
  const text = hash.startsWith("#") ? hash.slice(1) : hash;
  if (text === "forgot") return { kind: "forgot" };
  if (!text.startsWith("reset=")) return null;
  const raw = text.slice("reset=".length);
  let token: string;
  try {
    token = decodeURIComponent(raw);
  } catch {
    return { kind: "reset", token: null };
  }
  return { kind: "reset", token: token.length <= MAX_TOKEN && TOKEN.test(token) ? token : null };
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
