// Test doubles: a scripted Socket.IO socket and a fake RTCPeerConnection.

import type { AuthCallback, SocketLike } from "../src/protocol/room-client";
import type { IceCandidateEventLike, PeerLike, TrackLike, TransceiverLike } from "../src/protocol/media";
import type { SendParametersLike } from "../src/protocol/scalability";
import type { IceCandidateWire } from "../src/protocol/types";

export interface Emitted {
  event: string;
  payload: unknown;
  ack: ((reply: unknown) => void) | undefined;
}

export type AutoReply = (event: string, payload: unknown) => unknown | undefined;

export class FakeSocket implements SocketLike {
  connected = false;
  active = false;
  readonly emitted: Emitted[] = [];
  readonly tokens: string[] = [];
  connectCalls = 0;
  private handlers = new Map<string, ((...args: never[]) => void)[]>();
  /** When set, acks are answered synchronously by this function (undefined: leave pending). */
  autoReply: AutoReply | null = null;

  constructor(private readonly auth: (cb: AuthCallback) => void) {}

  on(event: string, fn: (...args: never[]) => void): this {
    const list = this.handlers.get(event) ?? [];
    list.push(fn);
    this.handlers.set(event, list);
    return this;
  }

  emit(event: string, ...args: unknown[]): this {
    const ack = typeof args[1] === "function" ? (args[1] as (r: unknown) => void) : undefined;
    this.emitted.push({ event, payload: args[0], ack });
    if (ack && this.autoReply) {
      const reply = this.autoReply(event, args[0]);
      if (reply !== undefined) queueMicrotask(() => ack(reply));
    }
    return this;
  }

  connect(): this {
    this.connectCalls += 1;
    this.active = true;
    this.auth((data) => {
      this.tokens.push(data.token);
      this.connectResult?.(data.token);
    });
    return this;
  }

  /** Decides what happens after auth: default accept. */
  connectResult: ((token: string) => void) | null = () => this.serverAccept();

  serverAccept(): void {
    this.connected = true;
    this.fire("connect");
  }

  serverRefuse(code: string, message = "refused"): void {
    this.connected = false;
    this.active = false;
    const err = Object.assign(new Error(message), { data: { code, message } });
    this.fire("connect_error", err);
  }

  transportDrop(): void {
    this.connected = false;
    this.fire("disconnect", "transport close");
  }

  disconnect(): this {
    const was = this.connected;
    this.connected = false;
    this.active = false;
    if (was) this.fire("disconnect", "io client disconnect");
    return this;
  }

  fire(event: string, ...args: unknown[]): void {
    for (const fn of this.handlers.get(event) ?? []) (fn as (...a: unknown[]) => void)(...args);
  }

  last(event: string): Emitted | undefined {
    return [...this.emitted].reverse().find((e) => e.event === event);
  }

  count(event: string): number {
    return this.emitted.filter((e) => e.event === event).length;
  }
}

export class FakeTrack implements TrackLike {
  enabled = true;
  constructor(
    readonly kind: string,
    readonly id: string,
  ) {}
}

export interface FakeSender {
  track: TrackLike | null;
  replaceTrack(t: TrackLike | null): Promise<void>;
  /** What getParameters returns (a copy); encodings appear when the answer is set. */
  params: SendParametersLike;
  /** Every setParameters call, in order. */
  setCalls: SendParametersLike[];
  /** When set, setParameters rejects with it (a browser that refuses the mode). */
  refuse: Error | null;
  getParameters(): SendParametersLike;
  setParameters(p: SendParametersLike): Promise<void>;
}

class FakeTransceiver implements TransceiverLike {
  direction = "recvonly";
  readonly sender: FakeSender;
  readonly receiver: { track: TrackLike };
  constructor(
    readonly mid: string,
    kind: string,
  ) {
    const sender: FakeSender = {
      track: null,
      async replaceTrack(t: TrackLike | null): Promise<void> {
        sender.track = t;
      },
      params: { encodings: [] },
      setCalls: [],
      refuse: null,
      getParameters(): SendParametersLike {
        return structuredClone(sender.params);
      },
      async setParameters(p: SendParametersLike): Promise<void> {
        sender.setCalls.push(structuredClone(p));
        if (sender.refuse) throw sender.refuse;
        sender.params = structuredClone(p);
      },
    };
    this.sender = sender;
    this.receiver = { track: new FakeTrack(kind, `remote-${mid}`) };
  }
}

/** Parses "m=audio"/"m=video" lines with "a=mid:" and keeps one transceiver per m-line. */
export class FakePeer implements PeerLike {
  connectionState = "new";
  onicecandidate: ((ev: IceCandidateEventLike) => void) | null = null;
  onconnectionstatechange: (() => void) | null = null;
  readonly transceivers: FakeTransceiver[] = [];
  readonly candidates: IceCandidateWire[] = [];
  remoteSdps: string[] = [];
  localAnswers: string[] = [];
  closed = false;
  /** SDP fingerprints seen: a change makes setRemoteDescription fail, like a real peer. */
  private fingerprint: string | null = null;

  async setRemoteDescription(d: { type: "offer"; sdp: string }): Promise<void> {
    if (this.closed) throw new Error("InvalidStateError: closed");
    const fp = /a=fingerprint:(\S+ \S+)/.exec(d.sdp)?.[1] ?? null;
    if (this.fingerprint !== null && fp !== this.fingerprint) {
      throw new Error("InvalidAccessError: fingerprint changed");
    }
    this.fingerprint = fp;
    this.remoteSdps.push(d.sdp);
    let kind: string | null = null;
    for (const line of d.sdp.split(/\r?\n/)) {
      const m = /^m=(audio|video)/.exec(line);
      if (m) kind = m[1] ?? null;
      const mid = /^a=mid:(\S+)/.exec(line);
      if (mid && kind) {
        const id = mid[1] ?? "";
        if (!this.transceivers.some((t) => t.mid === id)) {
          this.transceivers.push(new FakeTransceiver(id, kind));
        }
      }
    }
  }

  async createAnswer(): Promise<{ type: string; sdp: string }> {
    const lines = this.transceivers.map((t) => `a=mid:${t.mid} a=${t.direction}`);
    return { type: "answer", sdp: `v=0 answer\n${lines.join("\n")}` };
  }

  async setLocalDescription(d: { type: string; sdp?: string }): Promise<void> {
    this.localAnswers.push(d.sdp ?? "");
    // Like a browser: a sending transceiver has its one encoding once negotiated.
    for (const t of this.transceivers) {
      if (t.direction === "sendonly" && t.sender.params.encodings.length === 0) {
        t.sender.params = { encodings: [{}] };
      }
    }
  }

  async addIceCandidate(c: IceCandidateWire): Promise<void> {
    this.candidates.push(c);
  }

  getTransceivers(): TransceiverLike[] {
    return this.transceivers;
  }

  async getStats(): Promise<unknown> {
    return new Map();
  }

  close(): void {
    this.closed = true;
  }
}

export function offerSdp(mids: [string, "audio" | "video"][], fingerprint = "sha-256 AA:BB"): string {
  const parts = ["v=0", `a=fingerprint:${fingerprint}`];
  for (const [mid, kind] of mids) parts.push(`m=${kind} 9 UDP/TLS/RTP/SAVPF 96`, `a=mid:${mid}`);
  return parts.join("\r\n");
}

/** Let queued microtasks and promise chains run. */
export async function flush(times = 10): Promise<void> {
  for (let i = 0; i < times; i++) await Promise.resolve();
}
