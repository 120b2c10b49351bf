import { describe, expect, it } from "vitest";
import { MediaSession } from "../src/protocol/media";
import {
  type CodecCapabilityLike,
  type MediaCapabilitiesLike,
  requestTemporalLayers,
  supportsTemporalLayers,
  TEMPORAL_LAYERS_SWITCH,
  temporalLayersWanted,
  temporalLayerSupport,
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
  it("what the VP8 capability lists, or null when it lists no modes", () => {
    expect(supportsTemporalLayers(VP8_L1T3)).toBe(true);
    expect(supportsTemporalLayers([{ mimeType: "VIDEO/vp8", scalabilityModes: ["L1T3"] }])).toBe(true);
    expect(supportsTemporalLayers(VP8_T2_ONLY)).toBe(false);
    expect(supportsTemporalLayers(L1T3_NOT_VP8)).toBe(false); // the server negotiates VP8 only
    expect(supportsTemporalLayers(VP8_NO_MODES)).toBeNull(); // Chromium 156: cannot say
    expect(supportsTemporalLayers([])).toBeNull();
    expect(supportsTemporalLayers(null)).toBeNull();
  });
});

describe("temporalLayerSupport", () => {
  function media(answer: boolean | Error) {
    const asked: unknown[] = [];
    const api: MediaCapabilitiesLike = {
      encodingInfo: async (config) => {
        asked.push(config);
        if (answer instanceof Error) throw answer;
        return { supported: answer };
      },
    };
    return { api, asked };
  }

  it("codec capabilities first, then the media capabilities API for a VP8 L1T3 stream", async () => {
    const yes = media(true);
    expect(await temporalLayerSupport(VP8_T2_ONLY, yes.api)).toBe(false); // listed: decides
    expect(yes.asked).toEqual([]);
    expect(await temporalLayerSupport(VP8_NO_MODES, yes.api)).toBe(true);
    expect(yes.asked).toEqual([
      {
        type: "webrtc",
        video: {
          contentType: "video/VP8",
          width: 640,
          height: 360,
          bitrate: 600000,
          framerate: 30,
          scalabilityMode: "L1T3",
        },
      },
    ]);
    expect(await temporalLayerSupport(VP8_NO_MODES, media(false).api)).toBe(false);
    expect(await temporalLayerSupport(VP8_NO_MODES, media(new TypeError("webrtc?")).api)).toBeNull();
    expect(await temporalLayerSupport(null, null)).toBeNull();
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

  it("asks unless the browser said no, and never rejects when it refuses", async () => {
    const ok = sender([{}]);
    expect(await requestTemporalLayers(ok, true)).toBe(true);
    expect(ok.calls).toEqual([{ encodings: [{ scalabilityMode: "L1T3" }] }]);

    const unknown = sender([{}]); // the browser could not say: asked anyway
    expect(await requestTemporalLayers(unknown, null)).toBe(true);

    const log: string[] = [];
    const refused = sender([{}], new Error("OperationError: unsupported"));
    expect(await requestTemporalLayers(refused, null, (m) => log.push(m))).toBe(false);
    expect(log[0]).toContain("refused");

    const unsupported = sender([{}]);
    expect(await requestTemporalLayers(unsupported, false)).toBe(false);
    expect(unsupported.calls).toEqual([]);

    expect(await requestTemporalLayers({}, true)).toBe(false); // no setParameters at all
    const done = sender([{ scalabilityMode: "L1T3" }]);
    expect(await requestTemporalLayers(done, true)).toBe(true);
    expect(done.calls).toEqual([]);
  });
});

describe("MediaSession asks for temporal layers on its camera", () => {
  function session(support: boolean | null, refuse = false) {
    let queries = 0;
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
      {
        temporalLayers: async () => {
          queries += 1;
          return support;
        },
      },
    );
    return { media, peers, answers, queries: () => queries };
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
    const h = session(true);
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
    expect(h.queries()).toBe(1); // the browser is asked once
  });

  it("also for a listen-only member whose camera comes later (the sender keeps the mode)", async () => {
    const h = session(true);
    await h.media.handleOffer(offer);
    const video = h.peers[0]!.transceivers[1]!;
    expect(video.sender.params.encodings).toEqual([{ scalabilityMode: "L1T3" }]);
    expect(await h.media.addLocalTrack("video", new FakeTrack("video", "cam"))).toBe(true);
    expect(video.sender.params.encodings).toEqual([{ scalabilityMode: "L1T3" }]);
  });

  it("leaves the sender alone where unsupported, and answers even if the browser refuses", async () => {
    const none = session(false);
    await none.media.handleOffer(offer);
    expect(none.peers[0]!.transceivers[1]!.sender.setCalls).toEqual([]);
    expect(none.answers).toHaveLength(1);

    const refusing = session(null, true);
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

describe("the temporal layers switch", () => {
  const storage = (value: string | null) => ({
    getItem: (key: string) => (key === TEMPORAL_LAYERS_SWITCH ? value : null),
  });
  it("is on by default and turned off only by 'off'", () => {
    expect(temporalLayersWanted(storage(null))).toBe(true);
    expect(temporalLayersWanted(null)).toBe(true);
    expect(temporalLayersWanted(storage("on"))).toBe(true);
    expect(temporalLayersWanted(storage("off"))).toBe(false);
  });
  it("keeps the default when storage refuses", () => {
    const refusing = {
      getItem: (): string | null => {
        throw new Error("SecurityError");
      },
    };
    expect(temporalLayersWanted(refusing)).toBe(true);
  });
});
