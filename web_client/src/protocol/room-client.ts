// The room connection: hello, agreement, join, versioned snapshots, commands, reconnect.
// It owns one Socket.IO socket (injected through a factory, so tests use a fake) and is the only
// place that changes the connection state; every change goes through setState(old -> new).

import { ServerClock } from "./clock";
import { Emitter } from "./emitter";
import { RETRY_POLICY, retryDelayMs, type RetryPolicy } from "./retry-policy";
import type { TileViewWire } from "./tile-view";
import {
  type Agreement,
  CircleError,
  type HelloReply,
  type IceCandidateWire,
  type LeaderCommand,
  type MediaOffer,
  PROTOCOL_VERSION,
  type RoomNote,
  type Snapshot,
  isRecordValue,
  parseHello,
  parseOffer,
  parseSnapshot,
  unwrapAck,
} from "./types";
import {
  type AuthCallback,
  MAX_TOKEN_RETRIES,
  NOTE_MAX_CHARS,
  type RoomClientOptions,
  type RoomEvents,
  type RoomState,
  type SocketLike,
  TOKEN_CODES,
  TRANSIENT_CODES,
  toCircleError,
} from "./room-ports";

export {
  type AuthCallback,
  type RoomClientOptions,
  type RoomEvents,
  type RoomState,
  type SocketFactory,
  type SocketLike,
  type TokenProvider,
} from "./room-ports";
export { NOTE_MAX_CHARS, TRANSIENT_CODES, toCircleError };

export class RoomClient {
  readonly events = new Emitter<RoomEvents>();
  readonly clock = new ServerClock();

  private readonly socket: SocketLike;
  private readonly opts: Required<
    Pick<
      RoomClientOptions,
      "ackTimeoutMs" | "now" | "log" | "retryDelayMs" | "retryPolicy" | "random" | "setTimer" | "clearTimer"
    >
  > &
    RoomClientOptions;
  private stateValue: RoomState = "idle";
  private errorValue: CircleError | null = null;
  private snapshotValue: Snapshot | null = null;
  private helloValue: HelloReply | null = null;
  private pendingAgreement: Agreement | null = null;
  private firstToken: string | null = null;
  private tokenRetries = 0;
  /** The last join token could not be fetched for a passing reason (network, 5xx). */
  private tokenUnavailable = false;
  private transientRetries = 0;
  private everJoined = false;
  private noteValue: RoomNote | null = null;
  /** Media answers and candidates produced before the join is acknowledged. */
  private mediaQueue: [string, Record<string, unknown>][] = [];

  constructor(options: RoomClientOptions) {
    this.opts = {
      ackTimeoutMs: 10_000,
      now: () => Date.now(),
      log: () => undefined,
      retryDelayMs: 1000,
      retryPolicy: RETRY_POLICY,
      random: () => Math.random(),
      setTimer: (fn, ms) => setTimeout(fn, ms),
      clearTimer: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
      ...options,
    };
    this.socket = this.opts.socketFactory((cb) => this.provideAuth(cb));
    this.wire();
  }

  get state(): RoomState {
    return this.stateValue;
  }
  get error(): CircleError | null {
    return this.errorValue;
  }
  get snapshot(): Snapshot | null {
    return this.snapshotValue;
  }
  get hello(): HelloReply | null {
    return this.helloValue;
  }
  get agreement(): Agreement | null {
    return this.pendingAgreement;
  }
  get note(): RoomNote | null {
    return this.noteValue;
  }
  get selfId(): string | null {
    return this.helloValue?.you.person_id ?? this.snapshotValue?.you.person_id ?? null;
  }

  /** Fetch a join token (surfacing not_open / forbidden at once) and connect. */
  async start(): Promise<void> {
    if (this.stateValue !== "idle") throw new CircleError("invalid_state", `start() in ${this.stateValue}`);
    this.setState("connecting");
    try {
      this.firstToken = await this.opts.tokenProvider();
    } catch (e) {
      this.fail(toCircleError(e));
      return;
    }
    this.socket.connect();
  }

  /** Leave on purpose: tell the server, then close the socket. */
  async leave(): Promise<void> {
    if (this.isFinal()) return;
    if (this.socket.connected) {
      try {
        await this.request("leave", {}, 2000);
      } catch {
        // Leaving anyway: the server notices the closed socket.
      }
    }
    this.setState("left");
    this.socket.disconnect();
  }

  async acceptAgreement(): Promise<void> {
    const ag = this.pendingAgreement;
    if (this.stateValue !== "agreement" || ag === null) {
      throw new CircleError("invalid_state", `acceptAgreement() in ${this.stateValue}`);
    }
    await this.request("agreement.accept", { version: ag.version });
    this.pendingAgreement = null;
    await this.join();
  }

  raiseHand(): Promise<Record<string, unknown>> {
    return this.command("hand.raise", {});
  }
  lowerHand(): Promise<Record<string, unknown>> {
    return this.command("hand.lower", {});
  }
  setMic(muted: boolean): Promise<Record<string, unknown>> {
    return this.command("mic.set", { muted });
  }
  setCamera(off: boolean): Promise<Record<string, unknown>> {
    return this.command("cam.set", { off });
  }
  leaderCommand(cmd: LeaderCommand): Promise<Record<string, unknown>> {
    return this.command("protocol.command", { ...cmd });
  }
  sendNote(text: string): Promise<Record<string, unknown>> {
    // Characters as the server counts them (code points), not UTF-16 units: an emoji is one.
    if ([...text].length > NOTE_MAX_CHARS) {
      return Promise.reject(new CircleError("too_large", `a note holds at most ${NOTE_MAX_CHARS} characters`));
    }
    return this.command("leader.note", { text });
  }
  sendAnswer(sdp: string): void {
    this.sendMedia("media.answer", { sdp });
  }
  sendCandidate(c: IceCandidateWire): void {
    this.sendMedia("media.candidate", { ...c });
  }
  /** Our media connection failed and did not heal: ask the room for a fresh one. */
  requestMediaRestart(): void {
    this.sendMedia("media.restart", {});
  }
  /** How big we show each remote tile (protocol/tile-view.ts). */
  sendView(tiles: TileViewWire[]): void {
    this.sendMedia("media.view", { tiles });
  }

  /**
   * The server may offer media while it is still processing our join; it accepts answers
   * and candidates only from a joined participant, so they wait for the join's answer.
   */
  private sendMedia(event: string, payload: Record<string, unknown>): void {
    if (this.stateValue !== "joined") {
      this.mediaQueue.push([event, payload]);
      return;
    }
    this.socket.emit(event, payload, (reply: unknown) => {
      try {
        unwrapAck(reply);
      } catch (e) {
        this.opts.log(`${event} refused: ${toCircleError(e).code}`);
      }
    });
  }

  private flushMedia(): void {
    const queued = this.mediaQueue;
    this.mediaQueue = [];
    for (const [event, payload] of queued) this.sendMedia(event, payload);
  }

  /** Emit an event and await its ack; failures are also reported on `refused`. */
  async command(event: string, payload: Record<string, unknown>): Promise<Record<string, unknown>> {
    try {
      return await this.request(event, payload);
    } catch (e) {
      const error = toCircleError(e);
      this.events.emit("refused", { event, error });
      throw error;
    }
  }

  private request(
    event: string,
    payload: Record<string, unknown>,
    timeoutMs = this.opts.ackTimeoutMs,
  ): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      let done = false;
      const timer = this.opts.setTimer(() => {
        if (done) return;
        done = true;
        reject(new CircleError("timeout", `no answer to ${event}`));
      }, timeoutMs);
      this.socket.emit(event, payload, (reply: unknown) => {
        if (done) return;
        done = true;
        this.opts.clearTimer(timer);
        try {
          resolve(unwrapAck(reply));
        } catch (e) {
          reject(toCircleError(e));
        }
      });
    });
  }

  private provideAuth(cb: AuthCallback): void {
    const first = this.firstToken;
    if (first !== null) {
      this.firstToken = null;
      cb({ token: first });
      return;
    }
    // Join tokens live five minutes: every reconnection attempt asks for a fresh one.
    this.opts.tokenProvider().then(
      (token) => {
        this.tokenUnavailable = false;
        cb({ token });
      },
      (e: unknown) => {
        const err = toCircleError(e);
        this.opts.log(`token refresh failed: ${err.code}`);
        if (err.status === 403 || err.code === "forbidden" || err.code === "not_open") {
          this.fail(err);
          this.socket.disconnect();
        }
        // Anything else (the network, a server between two others) passes: the refusal of
        // the empty token that follows is retried like any transient one.
        this.tokenUnavailable = true;
        cb({ token: "" });
      },
    );
  }

  private wire(): void {
    const s = this.socket;
    s.on("connect", () => void this.onConnect());
    s.on("connect_error", (err: never) => this.onConnectError(err as unknown));
    s.on("disconnect", (reason: never) => this.onDisconnect(String(reason)));
    s.on("room.snapshot", (payload: never) => this.onSnapshot(payload as unknown));
    s.on("room.note", (payload: never) => this.onNote(payload as unknown));
    s.on("media.offer", (payload: never) => {
      try {
        this.events.emit("offer", parseOffer(payload as unknown));
      } catch (e) {
        this.opts.log(`bad offer: ${String(e)}`);
      }
    });
    s.on("media.candidate", (payload: never) => {
      const p = payload as unknown;
      if (isRecordValue(p) && typeof p["candidate"] === "string") {
        const c: IceCandidateWire = { candidate: p["candidate"] };
        if (typeof p["sdpMid"] === "string") c.sdpMid = p["sdpMid"];
        if (typeof p["sdpMLineIndex"] === "number") c.sdpMLineIndex = p["sdpMLineIndex"];
        this.events.emit("candidate", c);
      }
    });
    s.on("media.speaker", (payload: never) => {
      const p = payload as unknown;
      if (isRecordValue(p)) {
        const id = p["person_id"];
        this.events.emit("speaker", id === null || id === undefined ? null : String(id));
      }
    });
    s.on("room.ended", () => this.onEnded());
    s.on("room.removed", (payload: never) => {
      // Withdrawn from the group, deactivated, or the role changed: out, and no reconnecting.
      const p = payload as unknown;
      const err = isRecordValue(p) && isRecordValue(p["error"]) ? p["error"] : {};
      const message = typeof err["message"] === "string" ? err["message"] : "removed from the room";
      this.fail(new CircleError("removed", message));
      this.socket.disconnect();
    });
    s.on("room.replaced", () => {
      // The same person joined from another window: this one steps aside and stays out.
      this.fail(new CircleError("replaced", "joined from another window"));
      this.socket.disconnect();
    });
  }

  private async onConnect(): Promise<void> {
    if (this.isFinal()) return;
    this.tokenRetries = 0;
    this.clock.reset();
    try {
      const sent = this.opts.now();
      const ack = await this.request("hello", { v: PROTOCOL_VERSION });
      const hello = parseHello(ack);
      this.clock.sample(sent, this.opts.now(), hello.server_time_ms);
      this.helloValue = hello;
      this.events.emit("hello", hello);
      if (hello.agreement.required) {
        this.pendingAgreement = hello.agreement;
        this.setState("agreement");
        return;
      }
      await this.join();
    } catch (e) {
      const err = toCircleError(e);
      if (TRANSIENT_CODES.has(err.code)) {
        // Not now (the room is moving, the answer was lost): a new connection, later.
        this.opts.log(`hello/join refused for now (${err.code}); reconnecting`);
        this.socket.disconnect();
        this.setState("reconnecting");
        this.retryLater();
        return;
      }
      this.fail(err);
      this.socket.disconnect();
    }
  }

  /** Connect again after the back-off for the next transient attempt (a fresh join token). */
  private retryLater(): void {
    const n = this.transientRetries;
    this.transientRetries += 1;
    const delay = retryDelayMs(n, this.opts.random, this.opts.retryPolicy);
    this.opts.setTimer(() => {
      if (!this.isFinal()) this.socket.connect();
    }, delay);
  }

  private async join(): Promise<void> {
    this.setState("joining");
    const sent = this.opts.now();
    const ack = await this.request("join", {});
    const snap = parseSnapshot(ack["snapshot"], this.selfId);
    // A leader who (re)joins gets the room's current private note with the join answer.
    if (ack["note"] !== undefined) this.onNote(ack["note"]);
    this.clock.sample(sent, this.opts.now(), snap.server_time_ms);
    // A join answer is a new baseline: the server may have restarted and reset its versions.
    const rejoin = this.everJoined;
    this.snapshotValue = snap;
    this.everJoined = true;
    if (snap.ended) {
      this.events.emit("snapshot", snap);
      this.onEnded();
      return;
    }
    this.transientRetries = 0;
    this.setState("joined");
    this.events.emit("snapshot", snap);
    if (rejoin) this.events.emit("rejoined", snap);
    this.flushMedia();
  }

  private onNote(p: unknown): void {
    if (isRecordValue(p) && typeof p["text"] === "string") {
      const note = { text: p["text"], version: Number(p["version"] ?? 0) };
      if (this.noteValue === null || note.version >= this.noteValue.version) {
        this.noteValue = note;
        this.events.emit("note", note);
      }
    }
  }

  private onSnapshot(payload: unknown): void {
    let snap: Snapshot;
    try {
      snap = parseSnapshot(payload, this.selfId);
    } catch (e) {
      this.opts.log(`bad snapshot: ${String(e)}`);
      return;
    }
    const current = this.snapshotValue;
    if (current !== null && snap.version <= current.version) return; // stale or duplicate
    this.clock.hint(this.opts.now(), snap.server_time_ms);
    this.snapshotValue = snap;
    this.events.emit("snapshot", snap);
    if (snap.ended) this.onEnded();
  }

  private onConnectError(err: unknown): void {
    if (this.isFinal()) return;
    const data = isRecordValue(err) && isRecordValue(err["data"]) ? err["data"] : null;
    const code = data && typeof data["code"] === "string" ? data["code"] : "connect_error";
    const message =
      data && typeof data["message"] === "string"
        ? data["message"]
        : isRecordValue(err) && typeof err["message"] === "string"
          ? err["message"]
          : "connection failed";
    if (this.socket.active) {
      // A transport failure: socket.io retries with backoff by itself.
      if (this.stateValue !== "connecting") this.setState("reconnecting");
      return;
    }
    // Refused by the server.
    if (this.tokenUnavailable || TRANSIENT_CODES.has(code)) {
      this.setState("reconnecting");
      this.retryLater();
      return;
    }
    if (TOKEN_CODES.has(code) && this.tokenRetries < MAX_TOKEN_RETRIES) {
      this.tokenRetries += 1;
      this.setState("reconnecting");
      this.opts.setTimer(() => {
        if (!this.isFinal()) this.socket.connect();
      }, this.opts.retryDelayMs * this.tokenRetries);
      return;
    }
    this.fail(new CircleError(code, message));
  }

  private onDisconnect(reason: string): void {
    this.mediaQueue = []; // it belonged to the connection that just closed
    if (this.isFinal()) return;
    if (reason === "io client disconnect") return; // we closed it; state already set
    this.setState("reconnecting");
    if (reason === "io server disconnect") {
      // The server closed us without ending the room (e.g. a restart): socket.io will not retry.
      this.opts.setTimer(() => {
        if (!this.isFinal()) this.socket.connect();
      }, this.opts.retryDelayMs);
    }
  }

  private onEnded(): void {
    if (this.isFinal()) return;
    this.setState("ended");
    this.socket.disconnect();
  }

  private fail(err: CircleError): void {
    this.errorValue = err;
    this.setState("failed");
  }

  private isFinal(): boolean {
    return this.stateValue === "ended" || this.stateValue === "left" || this.stateValue === "failed";
  }

  private setState(to: RoomState): void {
    const from = this.stateValue;
    if (from === to) return;
    this.opts.log(`room ${from} -> ${to}`);
    this.stateValue = to;
    this.events.emit("state", { from, to, error: to === "failed" ? this.errorValue : null });
  }
}
