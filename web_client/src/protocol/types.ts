// Wire types of the room protocol (docs/signaling.md, version 1) and of the REST API.
// No DOM code in src/protocol/: everything here runs under Node in the unit tests.

export const PROTOCOL_VERSION = 1;

export type Presence = "present" | "reconnecting" | "left";
export type Floor = "hands" | "open";

export interface WireError {
  code: string;
  message: string;
}

export interface Participant {
  person_id: string;
  display_name: string;
  role: string;
  presence: Presence;
  muted_by_rule: boolean;
  self_muted: boolean;
  camera_off: boolean;
  hand_raised: boolean;
  speaking: boolean;
  /** Hosts this session of a peer-led (self-help) group: leads it, for this session only. */
  hosting?: boolean;
  /** What the room grants this person right now (server: rooms/capabilities.py). */
  capabilities: string[];
}

export interface You {
  person_id: string;
  capabilities: string[];
}

export interface Snapshot {
  version: number;
  server_time_ms: number;
  session_id: string;
  protocol: string;
  phase: string;
  phase_started_at_ms: number;
  phase_ends_at_ms: number | null;
  /** Time left at server_time_ms (frozen while paused; never below 0). */
  remaining_ms: number | null;
  /** The protocol's phases in order, when the server sends them. */
  phases: string[] | null;
  paused: boolean;
  overrun: boolean;
  presenter_id: string | null;
  /** The member the leader called on (hands floor), when the server sends it. */
  called_on: string | null;
  floor: Floor;
  hands: string[];
  participants: Participant[];
  you: You;
  ended: boolean;
  /** A co-leader leading in the leader's place (leader continuity), when the server sends it. */
  stand_in?: string | null;
  lead_reason?: "leader_lost" | "handed_over" | null;
  /** May the leader split the room into breakout groups now (the workshop's case work). */
  breakouts_allowed?: boolean;
  /** The room's breakout groups while it is split (server: rooms/breakouts.py), else null. */
  breakouts?: BreakoutsView | null;
}

export interface BreakoutsView {
  groups: string[][];
  started_at_ms: number;
  ends_at_ms: number;
  remaining_ms: number;
}

/** The leaders' breakout events (docs/workshop.md). */
export type BreakoutEvent = "breakout.open" | "breakout.move" | "breakout.close";

function parseBreakouts(x: unknown): BreakoutsView | null {
  if (!isRecord(x) || !Array.isArray(x["groups"])) return null;
  return {
    groups: x["groups"].filter(Array.isArray).map((g) => strings(g)),
    started_at_ms: num(x, "started_at_ms"),
    ends_at_ms: num(x, "ends_at_ms"),
    remaining_ms: num(x, "remaining_ms"),
  };
}

export interface Agreement {
  required: boolean;
  version: string;
  text: string;
}

export interface HelloReply {
  server_time_ms: number;
  you: { person_id: string; role: string; display_name: string };
  agreement: Agreement;
  /** Optional: ICE servers the deployment wants the browser to use. */
  ice_servers?: IceServer[];
}

export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

export type LeaderCommandName =
  | "advance"
  | "back"
  | "pause"
  | "resume"
  | "end"
  | "set_presenter"
  | "accept_hand"
  | "call_on"
  | "adjust"
  | "set_floor"
  | "hand_over";

export interface LeaderCommand {
  command: LeaderCommandName;
  person_id?: string;
  seconds?: number;
  floor?: Floor;
  /** With `call_on`: take the floor back from whoever has it. */
  clear?: boolean;
}

export interface TrackInfo {
  mid: string;
  person_id: string;
  kind: "audio" | "video";
}

/** The RTCConfiguration the server wants the browser to use (sent with each offer). */
export interface IceConfig {
  iceServers: IceServer[];
  iceTransportPolicy: "all" | "relay";
}

export interface MediaOffer {
  sdp: string;
  type: "offer";
  tracks: TrackInfo[];
  ice?: IceConfig | null;
}

export interface IceCandidateWire {
  candidate: string;
  sdpMid?: string;
  sdpMLineIndex?: number;
}

export interface RoomNote {
  text: string;
  version: number;
}

// ---- REST ----

export type Locale = "en" | "fa" | "nl";

export interface Me {
  id: string;
  display_name: string;
  email: string;
  locale: Locale | null;
  timezone: string | null;
  roles: string[];
  groups: { id: string; name: string; role: string }[];
}

export interface PasswordResetAccepted {
  accepted: boolean;
  link_ttl_minutes: number;
}

export type SessionStatus = "scheduled" | "open" | "live" | "ended" | "cancelled";

export interface SessionSummary {
  id: string;
  group_id: string;
  group_name: string;
  protocol: string;
  starts_at: string;
  ends_at: string;
  timezone: string;
  status: SessionStatus;
  lobby_opens_at: string;
  role: string;
  /** The series the session belongs to (null for a one-off session); a number on the wire. */
  series_id?: string | number | null;
  /** Whether I confirmed the series (null: no series, or I am not asked, e.g. a leader). */
  series_confirmed?: boolean | null;
  /** The series' group agreement (absent or null outside a series: nothing to accept). */
  agreement?: AgreementRef | null;
}

/** What the pre-join page needs to word the group agreement and know whether it is accepted. */
export interface AgreementRef {
  version: string;
  planned_sessions: number;
  accepted: boolean;
}

/** The answer to `POST /api/series/{id}/confirm`: `new` is false when it was confirmed before. */
export interface SeriesConfirmResult {
  confirmed: boolean;
  new: boolean;
}

export interface JoinToken {
  token: string;
  expires_at: string;
}

/** An error with a stable machine-readable code, from an ack, a REST call or a timeout. */
export class CircleError extends Error {
  readonly code: string;
  readonly status: number | null;
  /** The error envelope's `details` (for example `fields`: which input was refused). */
  readonly details: Record<string, unknown>;

  constructor(code: string, message: string, status: number | null = null, details: Record<string, unknown> = {}) {
    super(message);
    this.name = "CircleError";
    this.code = code;
    this.status = status;
    this.details = details;
  }
}

// ---- validation of what the server sends ----

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function str(o: Record<string, unknown>, key: string): string {
  const v = o[key];
  if (typeof v === "string") return v;
  if (typeof v === "number") return String(v); // ids may arrive as numbers from older servers
  throw new CircleError("invalid", `snapshot field ${key} is not a string`);
}

function num(o: Record<string, unknown>, key: string): number {
  const v = o[key];
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new CircleError("invalid", `snapshot field ${key} is not a number`);
  }
  return v;
}

function optNum(o: Record<string, unknown>, key: string): number | null {
  const v = o[key];
  return v === null || v === undefined ? null : num(o, key);
}

function optStr(o: Record<string, unknown>, key: string): string | null {
  const v = o[key];
  return v === null || v === undefined ? null : str(o, key);
}

function bool(o: Record<string, unknown>, key: string): boolean {
  return o[key] === true;
}

const PRESENCES: readonly Presence[] = ["present", "reconnecting", "left"];

function parseParticipant(x: unknown): Participant {
  if (!isRecord(x)) throw new CircleError("invalid", "participant is not an object");
  const presence = x["presence"];
  return {
    person_id: str(x, "person_id"),
    display_name: typeof x["display_name"] === "string" ? x["display_name"] : "",
    role: typeof x["role"] === "string" ? x["role"] : "member",
    presence: PRESENCES.includes(presence as Presence) ? (presence as Presence) : "present",
    muted_by_rule: bool(x, "muted_by_rule"),
    self_muted: bool(x, "self_muted"),
    camera_off: bool(x, "camera_off"),
    hand_raised: bool(x, "hand_raised"),
    speaking: bool(x, "speaking"),
    hosting: bool(x, "hosting"),
    capabilities: strings(x["capabilities"]),
  };
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((c): c is string => typeof c === "string") : [];
}

/**
 * Validate a `room.snapshot` payload; throws CircleError("invalid") on a malformed one.
 * The server broadcasts one payload to everyone, so `you` is derived from `selfId` (known
 * from `hello`) and that person's entry, unless the payload carries it.
 */
export function parseSnapshot(x: unknown, selfId: string | null = null): Snapshot {
  if (!isRecord(x)) throw new CircleError("invalid", "snapshot is not an object");
  const rawParticipants = x["participants"];
  if (!Array.isArray(rawParticipants)) {
    throw new CircleError("invalid", "snapshot participants is not a list");
  }
  const participants = rawParticipants.map(parseParticipant);
  const rawYou = isRecord(x["you"]) ? x["you"] : null;
  const youId = rawYou ? str(rawYou, "person_id") : selfId;
  if (youId === null) throw new CircleError("invalid", "snapshot does not say who you are");
  const mine = participants.find((p) => p.person_id === youId);
  const caps = rawYou && Array.isArray(rawYou["capabilities"]) ? strings(rawYou["capabilities"]) : (mine?.capabilities ?? []);
  const hands = x["hands"];
  return {
    version: num(x, "version"),
    server_time_ms: num(x, "server_time_ms"),
    session_id: str(x, "session_id"),
    protocol: str(x, "protocol"),
    phase: str(x, "phase"),
    phase_started_at_ms: optNum(x, "phase_started_at_ms") ?? num(x, "server_time_ms"),
    phase_ends_at_ms: optNum(x, "phase_ends_at_ms"),
    remaining_ms: optNum(x, "remaining_ms"),
    phases: Array.isArray(x["phases"]) ? strings(x["phases"]) : null,
    paused: bool(x, "paused"),
    overrun: bool(x, "overrun"),
    presenter_id: optStr(x, "presenter_id"),
    called_on: optStr(x, "called_on"),
    stand_in: optStr(x, "stand_in"),
    lead_reason: x["lead_reason"] === "leader_lost" || x["lead_reason"] === "handed_over" ? x["lead_reason"] : null,
    floor: x["floor"] === "open" ? "open" : "hands",
    hands: Array.isArray(hands) ? hands.map((h) => String(h)) : [],
    participants,
    you: { person_id: youId, capabilities: caps },
    ended: bool(x, "ended"),
    breakouts_allowed: x["breakouts_allowed"] === true,
    breakouts: parseBreakouts(x["breakouts"]),
  };
}

export function parseOffer(x: unknown): MediaOffer {
  if (!isRecord(x) || typeof x["sdp"] !== "string") {
    throw new CircleError("invalid", "media.offer without sdp");
  }
  const tracks = Array.isArray(x["tracks"]) ? x["tracks"] : [];
  const ice = isRecord(x["ice"]) ? x["ice"] : null;
  return {
    sdp: x["sdp"],
    type: "offer",
    ice: ice
      ? {
          iceServers: Array.isArray(ice["iceServers"]) ? (ice["iceServers"].filter(isRecord) as unknown as IceServer[]) : [],
          iceTransportPolicy: ice["iceTransportPolicy"] === "relay" ? "relay" : "all",
        }
      : null,
    tracks: tracks.filter(isRecord).map((t) => ({
      mid: String(t["mid"]),
      person_id: String(t["person_id"]),
      kind: t["kind"] === "video" ? "video" : "audio",
    })),
  };
}

/** Unwrap an ack `{ok: true, ...}` / `{ok: false, error}`. */
export function unwrapAck(x: unknown): Record<string, unknown> {
  if (!isRecord(x)) throw new CircleError("invalid", "malformed acknowledgement");
  if (x["ok"] === true) return x;
  const err = x["error"];
  if (isRecord(err)) {
    throw new CircleError(
      typeof err["code"] === "string" ? err["code"] : "error",
      typeof err["message"] === "string" ? err["message"] : "refused",
    );
  }
  throw new CircleError("error", "refused");
}

export function parseHello(x: Record<string, unknown>): HelloReply {
  const you = isRecord(x["you"]) ? x["you"] : {};
  const ag = isRecord(x["agreement"]) ? x["agreement"] : {};
  const reply: HelloReply = {
    server_time_ms: typeof x["server_time_ms"] === "number" ? x["server_time_ms"] : Date.now(),
    you: {
      person_id: String(you["person_id"] ?? ""),
      role: typeof you["role"] === "string" ? you["role"] : "member",
      display_name: typeof you["display_name"] === "string" ? you["display_name"] : "",
    },
    agreement: {
      required: ag["required"] === true,
      version: String(ag["version"] ?? ""),
      text: typeof ag["text"] === "string" ? ag["text"] : "",
    },
  };
  if (Array.isArray(x["ice_servers"])) reply.ice_servers = x["ice_servers"] as IceServer[];
  return reply;
}

export function isRecordValue(x: unknown): x is Record<string, unknown> {
  return isRecord(x);
}
