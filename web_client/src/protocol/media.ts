// Media negotiation: the server is always the offerer; the browser answers and trickles.
// The peer connection comes from an injected factory, so this runs against fakes under Node.
//
// Every offer describes all transceivers: `tracks` names the mids that carry another person's
// audio or video to us (downstream). Any other mid is one of our own upstream slots, one per kind:
// we answer it `sendonly` and attach our local track (or none, for listen-only) with
// replaceTrack, so switching device or turning the camera on later needs no renegotiation.

import { Emitter } from "./emitter";
import { type MediaHealth, MediaRecovery, type RecoveryPolicy, type Timers, browserTimers } from "./media-recovery";
import {
  type LayeredSenderLike,
  type TemporalLayerSupport,
  browserTemporalLayerSupport,
  requestTemporalLayers,
} from "./scalability";
import type { IceCandidateWire, IceConfig, IceServer, MediaOffer, TrackInfo } from "./types";

export interface TrackLike {
  readonly kind: string;
  readonly id: string;
  enabled: boolean;
}

export interface SenderLike extends LayeredSenderLike {
  readonly track: TrackLike | null;
  replaceTrack(track: TrackLike | null): Promise<void>;
}

export interface TransceiverLike {
  readonly mid: string | null;
  direction: string;
  readonly sender: SenderLike;
  readonly receiver: { readonly track: TrackLike };
}

export interface IceCandidateEventLike {
  candidate: { candidate: string; sdpMid: string | null; sdpMLineIndex: number | null } | null;
}

export interface PeerLike {
  readonly connectionState: string;
  onicecandidate: ((ev: IceCandidateEventLike) => void) | null;
  onconnectionstatechange: (() => void) | null;
  setRemoteDescription(d: { type: "offer"; sdp: string }): Promise<void>;
  createAnswer(): Promise<{ type: string; sdp?: string }>;
  setLocalDescription(d: { type: string; sdp?: string }): Promise<void>;
  addIceCandidate(c: IceCandidateWire): Promise<void>;
  getTransceivers(): TransceiverLike[];
  getStats(): Promise<unknown>;
  close(): void;
}

export type PeerFactory = (config: IceConfig) => PeerLike;

/** The outbound side of signaling (implemented by RoomClient). */
export interface MediaSignal {
  sendAnswer(sdp: string): void;
  /** A trickled candidate; `candidate: ""` tells the server ours are complete. */
  sendCandidate(c: IceCandidateWire): void;
  /** Ask the server for a fresh media connection (ours failed and did not heal). */
  requestMediaRestart?(): void;
}

export interface RemoteMedia {
  person_id: string;
  audio: TrackLike | null;
  video: TrackLike | null;
}

export interface MediaEvents {
  /** The full set of remote people and their tracks after each negotiation. */
  remote: Map<string, RemoteMedia>;
  connection: string;
  /** "reconnecting" while the media connection is broken and being repaired (shown to the
   * person), "lost" when repairs gave up, "ok" again once it is connected. */
  health: MediaHealth;
  error: Error;
}

export interface LocalTracks {
  audio: TrackLike | null;
  video: TrackLike | null;
}

/**
 * What identifies the server's peer connection in an offer: its ICE credentials and DTLS
 * fingerprint stay the same across renegotiations and change when the server starts a new
 * peer for us (after a reconnect or a restart).
 */
export function offerIdentity(sdp: string): string {
  const ufrag = /^a=ice-ufrag:(\S+)/m.exec(sdp)?.[1] ?? "";
  const fingerprint = /^a=fingerprint:(.+)$/m.exec(sdp)?.[1]?.trim() ?? "";
  return `${ufrag}|${fingerprint}`;
}

export class MediaSession {
  readonly events = new Emitter<MediaEvents>();
  private pc: PeerLike | null = null;
  private local: LocalTracks = { audio: null, video: null };
  private selfMuted = false;
  private ruleMuted = false;
  private cameraOff = false;
  private chain: Promise<void> = Promise.resolve();
  private remote = new Map<string, RemoteMedia>();
  private upstream = new Map<"audio" | "video", TransceiverLike>();
  private closed = false;
  private identity: string | null = null;
  private readonly recovery: MediaRecovery;
  private readonly layerSupport: TemporalLayerSupport;
  private layersSupported: Promise<boolean | null> | null = null;

  constructor(
    private readonly factory: PeerFactory,
    private readonly signal: MediaSignal,
    private readonly selfId: () => string | null,
    private iceServers: IceServer[] = [],
    private readonly log: (msg: string) => void = () => undefined,
    options: { timers?: Timers; policy?: RecoveryPolicy; temporalLayers?: TemporalLayerSupport } = {},
  ) {
    this.layerSupport = options.temporalLayers ?? browserTemporalLayerSupport;
    this.recovery = new MediaRecovery(
      () => {
        this.log("media connection broken; asking the server for a fresh one");
        this.signal.requestMediaRestart?.();
      },
      (health) => {
        this.log(`media ${health}`);
        this.events.emit("health", health);
      },
      options.timers ?? browserTimers,
      options.policy,
    );
  }

  /** "ok", "reconnecting" (shown to the person) or "lost". */
  get health(): MediaHealth {
    return this.recovery.health;
  }

  get peer(): PeerLike | null {
    return this.pc;
  }

  get remoteMedia(): ReadonlyMap<string, RemoteMedia> {
    return this.remote;
  }

  setIceServers(servers: IceServer[]): void {
    this.iceServers = servers;
  }

  /** Queue an offer: offers are applied strictly one after another. */
  handleOffer(offer: MediaOffer): Promise<void> {
    const run = this.chain.then(() => this.applyOffer(offer));
    this.chain = run.catch((e: unknown) => {
      this.events.emit("error", e instanceof Error ? e : new Error(String(e)));
    });
    return run;
  }

  handleCandidate(c: IceCandidateWire): Promise<void> {
    const run = this.chain.then(async () => {
      if (this.pc) await this.pc.addIceCandidate(c);
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Drop the peer connection (after a reconnect the server negotiates a new one). */
  reset(): void {
    if (this.pc) {
      this.pc.onicecandidate = null;
      this.pc.onconnectionstatechange = null;
      this.pc.close();
    }
    this.pc = null;
    this.identity = null;
    this.upstream.clear();
    this.remote = new Map();
    this.events.emit("remote", this.remote);
  }

  close(): void {
    this.closed = true;
    this.recovery.stop();
    this.reset();
  }

  /** Use these local tracks from now on (device change, camera on, audio-only). */
  async setLocalTracks(tracks: LocalTracks): Promise<void> {
    this.local = { ...tracks };
    this.applyEnabled();
    for (const kind of ["audio", "video"] as const) {
      const t = this.upstream.get(kind);
      if (t && t.sender.track !== this.local[kind]) await t.sender.replaceTrack(this.local[kind]);
    }
  }

  /** Whether the last offer gave us an upstream slot of this kind (listen-only included). */
  hasUpstream(kind: "audio" | "video"): boolean {
    return this.upstream.has(kind);
  }

  localTrack(kind: "audio" | "video"): TrackLike | null {
    return this.local[kind];
  }

  /**
   * Start sending a device acquired after joining (a listen-only member turns the microphone
   * on, an audio-only one the camera). The server's offer always holds our upstream slots and
   * we always answer them `sendonly` (with no track when listen-only), so the track goes onto
   * the existing sender with replaceTrack: no renegotiation, nothing to ask the server. The
   * track starts as the current mute state says (self-muted or held by the room: disabled);
   * the server's next snapshot decides from then on. Queued behind any offer being applied;
   * with no offer yet, the next offer attaches it. Resolves to whether a sender has it now.
   */
  addLocalTrack(kind: "audio" | "video", track: TrackLike): Promise<boolean> {
    const run = this.chain.then(async () => {
      await this.setLocalTracks({ ...this.local, [kind]: track });
      return this.upstream.get(kind)?.sender.track === track;
    });
    this.chain = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Own mute and the room's rule both silence the microphone; neither overrides the other. */
  setMuteState(state: { selfMuted: boolean; ruleMuted: boolean; cameraOff: boolean }): void {
    this.selfMuted = state.selfMuted;
    this.ruleMuted = state.ruleMuted;
    this.cameraOff = state.cameraOff;
    this.applyEnabled();
  }

  get microphoneLive(): boolean {
    return this.local.audio !== null && this.local.audio.enabled;
  }

  private applyEnabled(): void {
    if (this.local.audio) this.local.audio.enabled = !(this.selfMuted || this.ruleMuted);
    if (this.local.video) this.local.video.enabled = !this.cameraOff;
  }

  private ensurePeer(config: IceConfig | null): PeerLike {
    if (this.pc) return this.pc;
    const pc = this.factory(config ?? { iceServers: this.iceServers, iceTransportPolicy: "all" });
    pc.onicecandidate = (ev) => {
      const c = ev.candidate;
      if (!c) {
        // Gathering is complete: tell the server, so that its ICE agent can declare failure
        // (and its media restart run) instead of waiting for more candidates forever.
        if (this.pc === pc) this.signal.sendCandidate({ candidate: "" });
        return;
      }
      if (c.candidate === "") return; // the legacy per-generation marker: the null event follows
      const wire: IceCandidateWire = { candidate: c.candidate };
      if (c.sdpMid !== null) wire.sdpMid = c.sdpMid;
      if (c.sdpMLineIndex !== null) wire.sdpMLineIndex = c.sdpMLineIndex;
      this.signal.sendCandidate(wire);
    };
    pc.onconnectionstatechange = () => {
      if (this.pc !== pc) return;
      this.log(`peer connection ${pc.connectionState}`);
      this.events.emit("connection", pc.connectionState);
      this.recovery.onState(pc.connectionState);
    };
    this.pc = pc;
    return pc;
  }

  private async applyOffer(offer: MediaOffer): Promise<void> {
    if (this.closed) return;
    const identity = offerIdentity(offer.sdp);
    if (this.pc && this.identity !== null && identity !== this.identity) {
      this.log("the server started a new peer connection for us; following it");
      this.reset();
    }
    this.identity = identity;
    let pc = this.ensurePeer(offer.ice ?? null);
    try {
      await pc.setRemoteDescription({ type: "offer", sdp: offer.sdp });
    } catch (e) {
      // A fresh offer for a new server-side peer (ICE/DTLS changed): start over once.
      this.log(`offer refused by the current peer (${String(e)}); new peer connection`);
      this.reset();
      this.identity = identity;
      pc = this.ensurePeer(offer.ice ?? null);
      await pc.setRemoteDescription({ type: "offer", sdp: offer.sdp });
    }
    const self = this.selfId();
    const byMid = new Map<string, TrackInfo>();
    const ownMids = new Set<string>();
    for (const t of offer.tracks) {
      if (t.person_id === self) ownMids.add(t.mid);
      else byMid.set(t.mid, t);
    }

    const remote = new Map<string, RemoteMedia>();
    this.upstream.clear();
    for (const tr of pc.getTransceivers()) {
      if (tr.mid === null) continue;
      const info = byMid.get(tr.mid);
      if (info) {
        tr.direction = "recvonly";
        const entry = remote.get(info.person_id) ?? {
          person_id: info.person_id,
          audio: null,
          video: null,
        };
        entry[info.kind] = tr.receiver.track;
        remote.set(info.person_id, entry);
        continue;
      }
      const kind = tr.receiver.track.kind === "video" ? "video" : "audio";
      // Our own slots are the mids the server names as ours; an older server may not name
      // them, and then the first slot of each kind is ours. Any other slot is free: inactive.
      const ours = ownMids.size > 0 ? ownMids.has(tr.mid) : !this.upstream.has(kind);
      if (!ours || this.upstream.has(kind)) {
        tr.direction = "inactive";
        continue;
      }
      this.upstream.set(kind, tr);
      tr.direction = "sendonly";
      if (tr.sender.track !== this.local[kind]) await tr.sender.replaceTrack(this.local[kind]);
    }
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    const sdp = answer.sdp;
    if (sdp === undefined) throw new Error("the answer has no SDP");
    this.signal.sendAnswer(sdp);
    this.remote = remote;
    this.events.emit("remote", remote);
    // Our camera's sender exists (and has its encoding) once the answer is set: ask for
    // temporal layers so the server can thin our video for a weak receiver only.
    const video = this.upstream.get("video");
    if (video) {
      this.layersSupported ??= this.layerSupport(); // asked once per session
      await requestTemporalLayers(video.sender, await this.layersSupported, this.log);
    }
  }
}
