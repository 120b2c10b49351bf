import { describe, expect, it } from "vitest";
import { MediaSession, type RemoteMedia } from "../src/protocol/media";
import { type IceCandidateWire, type IceConfig, parseOffer } from "../src/protocol/types";
import { FakePeer, FakeTrack, flush, offerSdp } from "./fakes";

function harness() {
  const peers: FakePeer[] = [];
  const configs: IceConfig[] = [];
  const answers: string[] = [];
  const candidates: IceCandidateWire[] = [];
  const remotes: Map<string, RemoteMedia>[] = [];
  const media = new MediaSession(
    (cfg) => {
      configs.push(cfg);
      const p = new FakePeer();
      peers.push(p);
      return p;
    },
    { sendAnswer: (sdp) => answers.push(sdp), sendCandidate: (c) => candidates.push(c) },
    () => "3",
  );
  media.events.on("remote", (r) => remotes.push(r));
  return { media, peers, answers, candidates, remotes, configs };
}

const SELF_AND_TWO = offerSdp([
  ["0", "audio"],
  ["1", "video"],
  ["2", "audio"],
  ["3", "video"],
  ["4", "audio"],
]);

describe("MediaSession", () => {
  it("answers an offer: own slots sendonly with local tracks, others' tracks recvonly", async () => {
    const h = harness();
    const mic = new FakeTrack("audio", "mic");
    const cam = new FakeTrack("video", "cam");
    await h.media.setLocalTracks({ audio: mic, video: cam });
    await h.media.handleOffer({
      sdp: SELF_AND_TWO,
      type: "offer",
      tracks: [
        { mid: "2", person_id: "1", kind: "audio" },
        { mid: "3", person_id: "1", kind: "video" },
        { mid: "4", person_id: "2", kind: "audio" },
      ],
    });
    const pc = h.peers[0]!;
    const dirs = pc.transceivers.map((t) => `${t.mid}:${t.direction}`);
    expect(dirs).toEqual(["0:sendonly", "1:sendonly", "2:recvonly", "3:recvonly", "4:recvonly"]);
    expect(pc.transceivers[0]?.sender.track).toBe(mic);
    expect(pc.transceivers[1]?.sender.track).toBe(cam);
    expect(h.answers).toHaveLength(1);
    const remote = h.remotes.at(-1)!;
    expect([...remote.keys()].sort()).toEqual(["1", "2"]);
    expect(remote.get("1")?.video?.id).toBe("remote-3");
    expect(remote.get("2")?.video).toBeNull();
  });

  it("builds the peer connection with the RTCConfiguration sent with the offer", async () => {
    const h = harness();
    const offer = parseOffer({
      sdp: offerSdp([["0", "audio"]]),
      type: "offer",
      tracks: [],
      ice: { iceServers: [{ urls: ["turn:127.0.0.1:3478"], username: "u", credential: "c" }], iceTransportPolicy: "relay", bundlePolicy: "max-bundle" },
    });
    await h.media.handleOffer(offer);
    expect(h.configs).toEqual([
      { iceServers: [{ urls: ["turn:127.0.0.1:3478"], username: "u", credential: "c" }], iceTransportPolicy: "relay" },
    ]);
    await h.media.handleOffer({ sdp: offerSdp([["0", "audio"]]), type: "offer", tracks: [] });
    expect(h.configs).toHaveLength(1);
  });

  it("treats a track announced for myself as an upstream slot", async () => {
    const h = harness();
    await h.media.handleOffer({
      sdp: offerSdp([["a", "audio"]]),
      type: "offer",
      tracks: [{ mid: "a", person_id: "3", kind: "audio" }],
    });
    expect(h.peers[0]?.transceivers[0]?.direction).toBe("sendonly");
    expect(h.remotes.at(-1)?.size).toBe(0);
  });

  it("uses the mids the server names as mine and leaves free slots inactive", async () => {
    const h = harness();
    const mic = new FakeTrack("audio", "mic");
    await h.media.setLocalTracks({ audio: mic, video: null });
    await h.media.handleOffer({
      sdp: offerSdp([["0", "audio"], ["1", "video"], ["2", "audio"], ["3", "video"], ["4", "audio"], ["5", "video"]]),
      type: "offer",
      tracks: [
        { mid: "0", person_id: "3", kind: "audio" },
        { mid: "1", person_id: "3", kind: "video" },
        { mid: "4", person_id: "7", kind: "audio" },
        { mid: "5", person_id: "7", kind: "video" },
      ],
    });
    const dirs = h.peers[0]!.transceivers.map((t) => `${t.mid}:${t.direction}`);
    expect(dirs).toEqual(["0:sendonly", "1:sendonly", "2:inactive", "3:inactive", "4:recvonly", "5:recvonly"]);
    expect(h.peers[0]?.transceivers[0]?.sender.track).toBe(mic);
    expect([...h.remotes.at(-1)!.keys()]).toEqual(["7"]);
  });

  it("listen-only answers its slots with no track", async () => {
    const h = harness();
    await h.media.handleOffer({ sdp: offerSdp([["0", "audio"], ["1", "video"]]), type: "offer", tracks: [] });
    expect(h.peers[0]?.transceivers.map((t) => t.sender.track)).toEqual([null, null]);
    expect(h.answers).toHaveLength(1);
  });

  it("renegotiates on the same peer and updates who is there", async () => {
    const h = harness();
    await h.media.handleOffer({ sdp: offerSdp([["0", "audio"], ["2", "audio"]]), type: "offer", tracks: [{ mid: "2", person_id: "1", kind: "audio" }] });
    await h.media.handleOffer({
      sdp: offerSdp([["0", "audio"], ["2", "audio"], ["4", "audio"]]),
      type: "offer",
      tracks: [{ mid: "4", person_id: "5", kind: "audio" }],
    });
    expect(h.peers).toHaveLength(1);
    expect(h.answers).toHaveLength(2);
    expect([...h.remotes.at(-1)!.keys()]).toEqual(["5"]);
    // mid 2 is no longer announced: treated as an extra slot and made inactive, never sent on
    expect(h.peers[0]?.transceivers[1]?.direction).toBe("inactive");
  });

  it("applies offers one at a time, in order", async () => {
    const h = harness();
    const a = h.media.handleOffer({ sdp: offerSdp([["0", "audio"]]), type: "offer", tracks: [] });
    const b = h.media.handleOffer({ sdp: offerSdp([["0", "audio"], ["1", "video"]]), type: "offer", tracks: [] });
    await Promise.all([a, b]);
    expect(h.peers[0]?.remoteSdps).toHaveLength(2);
    expect(h.peers[0]?.localAnswers).toHaveLength(2);
  });

  it("follows the server to a new peer connection before touching the old one", async () => {
    const h = harness();
    await h.media.handleOffer({ sdp: offerSdp([["0", "audio"], ["1", "video"]], "sha-256 AA"), type: "offer", tracks: [] });
    const first = h.peers[0]!;
    // A renegotiation of the same server peer: same identity, same browser peer.
    await h.media.handleOffer({ sdp: offerSdp([["0", "audio"], ["1", "video"], ["2", "audio"]], "sha-256 AA"), type: "offer", tracks: [] });
    expect(h.peers).toHaveLength(1);
    // After a reconnect the server offers from a new peer (new fingerprint): a new browser peer.
    await h.media.handleOffer({ sdp: offerSdp([["0", "audio"]], "sha-256 CC"), type: "offer", tracks: [] });
    expect(h.peers).toHaveLength(2);
    expect(first.closed).toBe(true);
    expect(first.remoteSdps).toHaveLength(2); // never given the new peer's offer
  });

  it("starts a new peer connection when the server's offer belongs to a new peer", async () => {
    const h = harness();
    await h.media.handleOffer({ sdp: offerSdp([["0", "audio"]], "sha-256 AA"), type: "offer", tracks: [] });
    await h.media.handleOffer({ sdp: offerSdp([["0", "audio"]], "sha-256 BB"), type: "offer", tracks: [] });
    expect(h.peers).toHaveLength(2);
    expect(h.peers[0]?.closed).toBe(true);
    expect(h.answers).toHaveLength(2);
  });

  it("trickles local candidates, then tells the server they are complete (once)", async () => {
    const h = harness();
    await h.media.handleOffer({ sdp: offerSdp([["0", "audio"]]), type: "offer", tracks: [] });
    const pc = h.peers[0]!;
    pc.onicecandidate?.({ candidate: { candidate: "candidate:1 1 udp 9 127.0.0.1 4000 typ host", sdpMid: "0", sdpMLineIndex: 0 } });
    pc.onicecandidate?.({ candidate: { candidate: "", sdpMid: "0", sdpMLineIndex: 0 } });
    pc.onicecandidate?.({ candidate: null });
    expect(h.candidates).toEqual([
      { candidate: "candidate:1 1 udp 9 127.0.0.1 4000 typ host", sdpMid: "0", sdpMLineIndex: 0 },
      { candidate: "" },
    ]);
  });

  it("adds remote candidates to the peer after the offer", async () => {
    const h = harness();
    void h.media.handleOffer({ sdp: offerSdp([["0", "audio"]]), type: "offer", tracks: [] });
    await h.media.handleCandidate({ candidate: "candidate:2 1 udp 9 127.0.0.1 5000 typ host", sdpMid: "0" });
    expect(h.peers[0]?.candidates).toHaveLength(1);
  });

  it("never lets own unmute override the room's rule", async () => {
    const h = harness();
    const mic = new FakeTrack("audio", "mic");
    await h.media.setLocalTracks({ audio: mic, video: null });
    h.media.setMuteState({ selfMuted: false, ruleMuted: true, cameraOff: false });
    expect(mic.enabled).toBe(false);
    h.media.setMuteState({ selfMuted: true, ruleMuted: false, cameraOff: false });
    expect(mic.enabled).toBe(false);
    h.media.setMuteState({ selfMuted: false, ruleMuted: false, cameraOff: false });
    expect(mic.enabled).toBe(true);
    expect(h.media.microphoneLive).toBe(true);
  });

  it("swaps a device without renegotiating", async () => {
    const h = harness();
    await h.media.handleOffer({ sdp: offerSdp([["0", "audio"], ["1", "video"]]), type: "offer", tracks: [] });
    const cam2 = new FakeTrack("video", "cam2");
    await h.media.setLocalTracks({ audio: null, video: cam2 });
    expect(h.peers[0]?.transceivers[1]?.sender.track).toBe(cam2);
    expect(h.answers).toHaveLength(1);
  });

  it("reset closes the peer and forgets remote media", async () => {
    const h = harness();
    await h.media.handleOffer({ sdp: offerSdp([["0", "audio"], ["1", "audio"]]), type: "offer", tracks: [{ mid: "1", person_id: "1", kind: "audio" }] });
    h.media.reset();
    await flush();
    expect(h.peers[0]?.closed).toBe(true);
    expect(h.remotes.at(-1)?.size).toBe(0);
    expect(h.media.peer).toBeNull();
  });
});

describe("turning a device on after joining without it", () => {
  const OWN_AND_ONE = offerSdp([
    ["0", "audio"],
    ["1", "video"],
    ["2", "audio"],
    ["3", "video"],
  ]);
  const TRACKS = [
    { mid: "0", person_id: "3", kind: "audio" as const },
    { mid: "1", person_id: "3", kind: "video" as const },
    { mid: "2", person_id: "1", kind: "audio" as const },
    { mid: "3", person_id: "1", kind: "video" as const },
  ];

  it("listen-only still answers its upstream slots sendonly, so a sender exists with no track", async () => {
    const h = harness();
    await h.media.setLocalTracks({ audio: null, video: null });
    await h.media.handleOffer({ sdp: OWN_AND_ONE, type: "offer", tracks: TRACKS });
    const pc = h.peers[0]!;
    expect(pc.transceivers.map((t) => `${t.mid}:${t.direction}`)).toEqual(["0:sendonly", "1:sendonly", "2:recvonly", "3:recvonly"]);
    expect(pc.transceivers[0]?.sender.track).toBeNull();
    expect(h.media.hasUpstream("audio")).toBe(true);
    expect(h.media.hasUpstream("video")).toBe(true);
  });

  it("attaches a microphone acquired later with replaceTrack, without renegotiating", async () => {
    const h = harness();
    await h.media.handleOffer({ sdp: OWN_AND_ONE, type: "offer", tracks: TRACKS });
    // Joined listen-only: the client told the server it is muted.
    h.media.setMuteState({ selfMuted: true, ruleMuted: false, cameraOff: true });
    const mic = new FakeTrack("audio", "late-mic");
    await expect(h.media.addLocalTrack("audio", mic)).resolves.toBe(true);
    const pc = h.peers[0]!;
    expect(pc.transceivers[0]?.sender.track).toBe(mic);
    expect(pc.transceivers[0]?.direction).toBe("sendonly");
    expect(h.answers).toHaveLength(1); // no new answer: nothing was renegotiated
    expect(h.peers).toHaveLength(1);
    // Silent until the server's snapshot says unmuted.
    expect(mic.enabled).toBe(false);
    expect(h.media.microphoneLive).toBe(false);
    h.media.setMuteState({ selfMuted: false, ruleMuted: false, cameraOff: true });
    expect(mic.enabled).toBe(true);
    // The room's rule still wins over the late microphone.
    h.media.setMuteState({ selfMuted: false, ruleMuted: true, cameraOff: true });
    expect(mic.enabled).toBe(false);
  });

  it("attaches a camera acquired later beside the microphone already sent", async () => {
    const h = harness();
    const mic = new FakeTrack("audio", "mic");
    await h.media.setLocalTracks({ audio: mic, video: null });
    await h.media.handleOffer({ sdp: OWN_AND_ONE, type: "offer", tracks: TRACKS });
    h.media.setMuteState({ selfMuted: false, ruleMuted: false, cameraOff: false });
    const cam = new FakeTrack("video", "late-cam");
    await expect(h.media.addLocalTrack("video", cam)).resolves.toBe(true);
    const pc = h.peers[0]!;
    expect(pc.transceivers[0]?.sender.track).toBe(mic);
    expect(pc.transceivers[1]?.sender.track).toBe(cam);
    expect(cam.enabled).toBe(true);
    expect(h.media.localTrack("video")).toBe(cam);
    expect(h.answers).toHaveLength(1);
  });

  it("keeps a device turned on before the first offer and attaches it when the offer comes", async () => {
    const h = harness();
    const mic = new FakeTrack("audio", "early");
    await expect(h.media.addLocalTrack("audio", mic)).resolves.toBe(false);
    await h.media.handleOffer({ sdp: OWN_AND_ONE, type: "offer", tracks: TRACKS });
    expect(h.peers[0]?.transceivers[0]?.sender.track).toBe(mic);
  });

  it("waits for an offer being applied, then attaches to the slot that offer set up", async () => {
    const h = harness();
    const applying = h.media.handleOffer({ sdp: OWN_AND_ONE, type: "offer", tracks: TRACKS });
    const mic = new FakeTrack("audio", "during");
    const attached = h.media.addLocalTrack("audio", mic);
    await applying;
    await expect(attached).resolves.toBe(true);
    expect(h.peers[0]?.transceivers[0]?.sender.track).toBe(mic);
    // A later renegotiation (someone joins) keeps it on the same slot.
    await h.media.handleOffer({ sdp: offerSdp([["0", "audio"], ["1", "video"], ["2", "audio"], ["3", "video"], ["4", "audio"]]), type: "offer", tracks: [...TRACKS, { mid: "4", person_id: "2", kind: "audio" }] });
    expect(h.peers[0]?.transceivers[0]?.sender.track).toBe(mic);
  });
});
