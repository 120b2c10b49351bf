import { describe, expect, it } from "vitest";
import { MediaSession } from "../src/protocol/media";
import {
  type CodecCapabilityLike,
  requestTemporalLayers,
  supportsTemporalLayers,
  withTemporalLayers,
} from "../src/protocol/scalability";
import { FakePeer, FakeTrack, offerSdp } from "./fakes";

const VP8_L1T3: CodecCapabilityLike[] = [
  { mimeType: "video/VP8", scalabilityModes: ["L1T1", "L1T2", "L1T3"] },
  { mimeType: "video/rtx" },
];
const VP8_NO_MODES: CodecCapabilityLike[] = [{ mimeType: "video/VP8" }, { mimeType: "video/H264" }];
const VP8_T2_ONLY: CodecCapabilityLike[] = [{ mimeType: "video/VP8", scalabilityModes: ["L1T2"] }];
const L1T3_NOT_VP8: CodecCapabilityLike[] = [
  { mimeType: "video/VP8", scalabilityModes: ["L1T1"] },
  { mimeType: "video/AV1", scalabilityModes: ["L1T3"] },
];

describe("supportsTemporalLayers", () => {
  it("only when the browser's VP8 encoder lists L1T3", () => {
    expect(supportsTemporalLayers(VP8_L1T3)).toBe(true);
    expect(supportsTemporalLayers([{ mimeType: "VIDEO/vp8", scalabilityModes: ["L1T3"] }])).toBe(true);
    expect(supportsTemporalLayers(VP8_NO_MODES)).toBe(false); // cannot say: one layer
    expect(supportsTemporalLayers(VP8_T2_ONLY)).toBe(false);
    expect(supportsTemporalLayers(L1T3_NOT_VP8)).toBe(false); // the server negotiates VP8 only
    expect(supportsTemporalLayers([])).toBe(false);
    expect(supportsTemporalLayers(null)).toBe(false);
  });
});

describe("withTemporalLayers", () => {
  it("sets L1T3 on every encoding, nothing to do when done or not negotiated", () => {
    expect(withTemporalLayers({ encodings: [{}] })).toEqual({ encodings: [{ scalabilityMode: "L1T3" }] });
    expect(withTemporalLayers({ encodings: [{ scalabilityMode: "L1T1" }] })).toEqual({
      encodings: [{ scalabilityMode: "L1T3" }],
    });
    expect(withTemporalLayers({ encodings: [] })).toBeNull();
    expect(withTemporalLayers({ encodings: [{ scalabilityMode: "L1T3" }] })).toBeNull();
  });

  it("keeps the other parameters (the browser wants its transaction id back)", () => {
    const encoding: { active: boolean; maxBitrate: number; scalabilityMode?: string } = {
      active: true,
      maxBitrate: 600000,
    };
    const params = { transactionId: "t1", encodings: [encoding] };
    expect(withTemporalLayers(params)).toEqual({
      transactionId: "t1",
      encodings: [{ active: true, maxBitrate: 600000, scalabilityMode: "L1T3" }],
    });
  });
});

describe("requestTemporalLayers", () => {
  function sender(encodings: { scalabilityMode?: string }[], refuse: Error | null = null) {
    const calls: unknown[] = [];
    return {
      calls,
      getParameters: () => ({ encodings: encodings.map((e) => ({ ...e })) }),
      setParameters: async (p: unknown) => {
        calls.push(p);
        if (refuse) throw refuse;
      },
    };
  }

  it("asks where supported and never rejects when the browser refuses", async () => {
    const ok = sender([{}]);
    expect(await requestTemporalLayers(ok, VP8_L1T3)).toBe(true);
    expect(ok.calls).toEqual([{ encodings: [{ scalabilityMode: "L1T3" }] }]);

    const log: string[] = [];
    const refused = sender([{}], new Error("OperationError: unsupported"));
    expect(await requestTemporalLayers(refused, VP8_L1T3, (m) => log.push(m))).toBe(false);
    expect(log[0]).toContain("refused");

    const unsupported = sender([{}]);
    expect(await requestTemporalLayers(unsupported, VP8_NO_MODES)).toBe(false);
    expect(unsupported.calls).toEqual([]);

    expect(await requestTemporalLayers({}, VP8_L1T3)).toBe(false); // no setParameters at all
    const done = sender([{ scalabilityMode: "L1T3" }]);
    expect(await requestTemporalLayers(done, VP8_L1T3)).toBe(true);
    expect(done.calls).toEqual([]);
  });
});

describe("MediaSession asks for temporal layers on its camera", () => {
  function session(codecs: CodecCapabilityLike[] | null, refuse = false) {
    const peers: FakePeer[] = [];
    const answers: string[] = [];
    const media = new MediaSession(
      () => {
        const p = new FakePeer();
        if (refuse) {
          // a browser that lists L1T3 but refuses it on this sender
          const setLocal = p.setLocalDescription.bind(p);
          p.setLocalDescription = async (d) => {
            await setLocal(d);
            for (const t of p.transceivers) t.sender.refuse = new Error("OperationError");
          };
        }
        peers.push(p);
        return p;
      },
      { sendAnswer: (sdp) => answers.push(sdp), sendCandidate: () => undefined },
      () => "3",
      [],
      () => undefined,
      { videoCodecs: () => codecs },
    );
    return { media, peers, answers };
  }
  const offer = {
    sdp: offerSdp([
      ["0", "audio"],
      ["1", "video"],
      ["2", "audio"],
      ["3", "video"],
    ]),
    type: "offer" as const,
    tracks: [
      { mid: "0", person_id: "3", kind: "audio" as const },
      { mid: "1", person_id: "3", kind: "video" as const },
      { mid: "2", person_id: "1", kind: "audio" as const },
      { mid: "3", person_id: "1", kind: "video" as const },
    ],
  };

  it("sets L1T3 on the upstream video sender only, once across renegotiations", async () => {
    const h = session(VP8_L1T3);
    await h.media.setLocalTracks({ audio: new FakeTrack("audio", "mic"), video: new FakeTrack("video", "cam") });
    await h.media.handleOffer(offer);
    const [audio, video, downAudio, downVideo] = h.peers[0]!.transceivers;
    expect(h.answers).toHaveLength(1);
    expect(video!.sender.params.encodings).toEqual([{ scalabilityMode: "L1T3" }]);
    expect(audio!.sender.setCalls).toEqual([]);
    expect(downAudio!.sender.setCalls).toEqual([]);
    expect(downVideo!.sender.setCalls).toEqual([]);
    await h.media.handleOffer(offer); // a renegotiation: already layered
    expect(h.answers).toHaveLength(2);
    expect(video!.sender.setCalls).toHaveLength(1);
  });

  it("also for a listen-only member whose camera comes later (the sender keeps the mode)", async () => {
    const h = session(VP8_L1T3);
    await h.media.handleOffer(offer);
    const video = h.peers[0]!.transceivers[1]!;
    expect(video.sender.params.encodings).toEqual([{ scalabilityMode: "L1T3" }]);
    expect(await h.media.addLocalTrack("video", new FakeTrack("video", "cam"))).toBe(true);
    expect(video.sender.params.encodings).toEqual([{ scalabilityMode: "L1T3" }]);
  });

  it("leaves the sender alone where unsupported, and answers even if the browser refuses", async () => {
    const none = session(VP8_NO_MODES);
    await none.media.handleOffer(offer);
    expect(none.peers[0]!.transceivers[1]!.sender.setCalls).toEqual([]);
    expect(none.answers).toHaveLength(1);

    const refusing = session(VP8_L1T3, true);
    const errors: Error[] = [];
    refusing.media.events.on("error", (e) => errors.push(e));
    await refusing.media.handleOffer(offer);
    const video = refusing.peers[0]!.transceivers[1]!;
    expect(video.sender.setCalls).toHaveLength(1); // asked, refused, left as it was
    expect(video.sender.params.encodings).toEqual([{}]);
    expect(refusing.answers).toHaveLength(1);
    expect(errors).toEqual([]);
  });
});
