// The room connection's ports and vocabulary: the socket it is given, the token it asks for,
// its states and events, and which refusals are transient. No behaviour here but the
// classification of errors; room-client.ts is the state machine that uses them.

import type { ServerClock } from "./clock";
import {
  type Agreement,
  CircleError,
  type HelloReply,
  type IceCandidateWire,
  type MediaOffer,
  type RoomNote,
  type Snapshot,
} from "./types";
import type { RetryPolicy } from "./retry-policy";

/** The leader note's limit, in characters (Unicode code points), as docs/signaling.md states. */
export const NOTE_MAX_CHARS = 4000;

/** The part of a socket.io-client Socket this module uses. */
export interface SocketLike {
  readonly connected: boolean;
  /** False after the server refused the connection: socket.io will not retry by itself. */
  readonly active: boolean;
  on(event: string, fn: (...args: never[]) => void): unknown;
  emit(event: string, ...args: unknown[]): unknown;
  connect(): unknown;
  disconnect(): unknown;
}

export type AuthCallback = (data: { token: string }) => void;
/** Builds a socket that calls `auth` before every connection attempt; it must not connect yet. */
export type SocketFactory = (auth: (cb: AuthCallback) => void) => SocketLike;
export type TokenProvider = () => Promise<string>;

export type RoomState =
  | "idle"
  | "connecting"
  | "agreement" // waiting for the person to accept the group agreement
  | "joining"
  | "joined"
  | "reconnecting"
  | "ended"
  | "left"
  | "failed";

export interface RoomEvents {
  state: { from: RoomState; to: RoomState; error: CircleError | null };
  snapshot: Snapshot;
  note: RoomNote;
  offer: MediaOffer;
  candidate: IceCandidateWire;
  speaker: string | null;
  /** A fresh join after a drop (the media layer starts a new peer connection). */
  rejoined: Snapshot;
  hello: HelloReply;
  /** A refused or failed command, for the UI to explain. */
  refused: { event: string; error: CircleError };
}

export interface RoomClientOptions {
  socketFactory: SocketFactory;
  tokenProvider: TokenProvider;
  ackTimeoutMs?: number;
  now?: () => number;
  log?: (msg: string) => void;
  /** Wait before retrying after the server refused a stale token (ms). */
  retryDelayMs?: number;
  /** After a transient refusal (a room moving between servers, ...): the back-off schedule
   * (retry-policy.json: 0.5 s doubling to 2 s for 8 attempts, then up to 10 s; x0.5-1.5). */
  retryPolicy?: RetryPolicy;
  random?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

export const TOKEN_CODES = new Set(["unauthenticated", "gone", "invalid", "expired", "token_used"]);
export const MAX_TOKEN_RETRIES = 3;
/**
 * Refusals that say "not now" rather than "not you": the room is moving between servers (a
 * failover, a rolling restart, a node that came back), the server is busy or the answer was
 * lost. The client keeps retrying (with back-off, a fresh join token each time) instead of
 * giving up; the person sees "reconnecting".
 */
export const TRANSIENT_CODES = new Set([
  "room_moving",
  "wrong_node",
  "timeout",
  "internal",
  "unavailable",
  "rate_limited",
  "connect_error",
]);

export function toCircleError(e: unknown): CircleError {
  if (e instanceof CircleError) return e;
  if (e instanceof Error) return new CircleError("error", e.message);
  return new CircleError("error", String(e));
}
