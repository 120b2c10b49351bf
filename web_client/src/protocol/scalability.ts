// Temporal layers for our camera: ask the browser's VP8 encoder for L1T3 (three temporal
// layers: 7.5, 15 and 30 fps), so the server can give a weak receiver fewer frames without
// touching anyone else's stream (docs/media.md, "Per-receiver adaptation").
//
// The server is the offerer, so the video sender comes from its offer and has one encoding;
// once our answer is set, `setParameters` adds `scalabilityMode` to it. Whether the browser
// can: its VP8 codec capability's `scalabilityModes` where listed (Chromium 156 no longer
// lists them), else `navigator.mediaCapabilities.encodingInfo` for a WebRTC VP8 L1T3 stream
// (what Chromium answers). A browser that says no keeps sending one layer; one that cannot
// say is asked anyway, and a refused `setParameters` changes nothing (media keeps flowing).

export const TEMPORAL_LAYERS = "L1T3";

export interface CodecCapabilityLike {
  readonly mimeType: string;
  readonly scalabilityModes?: readonly string[];
}

export interface EncodingLike {
  scalabilityMode?: string;
}

export interface SendParametersLike {
  encodings: EncodingLike[];
}

export interface LayeredSenderLike {
  getParameters?(): SendParametersLike;
  setParameters?(p: SendParametersLike): Promise<void>;
}

/** Whether the browser can send VP8 with L1T3: true, false, or null when it cannot say. */
export type TemporalLayerSupport = () => Promise<boolean | null>;

/** What the codec capabilities say about VP8 L1T3; null when they list no modes for VP8. */
export function supportsTemporalLayers(codecs: readonly CodecCapabilityLike[] | null): boolean | null {
  const vp8 = (codecs ?? []).filter((c) => c.mimeType.toLowerCase() === "video/vp8");
  const listed = vp8.filter((c) => c.scalabilityModes !== undefined);
  if (listed.length === 0) return null;
  return listed.some((c) => (c.scalabilityModes ?? []).includes(TEMPORAL_LAYERS));
}

export interface MediaCapabilitiesLike {
  encodingInfo(config: {
    type: "webrtc";
    video: {
      contentType: string;
      width: number;
      height: number;
      bitrate: number;
      framerate: number;
      scalabilityMode: string;
    };
  }): Promise<{ supported: boolean }>;
}

/** Ask the codec capabilities first, then the media capabilities API; null if neither says. */
export async function temporalLayerSupport(
  codecs: readonly CodecCapabilityLike[] | null,
  media: MediaCapabilitiesLike | null,
): Promise<boolean | null> {
  const listed = supportsTemporalLayers(codecs);
  if (listed !== null) return listed;
  if (media === null) return null;
  try {
    const info = await media.encodingInfo({
      type: "webrtc",
      video: {
        contentType: "video/VP8",
        width: 640,
        height: 360,
        bitrate: 600_000,
        framerate: 30,
        scalabilityMode: TEMPORAL_LAYERS,
      },
    });
    return info.supported;
  } catch {
    return null; // the API does not know "webrtc" queries
  }
}

/** The switch that turns the browser's temporal layers off ("off"; on by default: docs/media.md). */
export const TEMPORAL_LAYERS_SWITCH = "circle.temporalLayers";

/** Whether this page asks for temporal layers: yes unless the switch says "off". */
export function temporalLayersWanted(storage: { getItem(key: string): string | null } | null): boolean {
  try {
    return storage?.getItem(TEMPORAL_LAYERS_SWITCH) !== "off";
  } catch {
    return true; // storage refused (privacy mode): the default
  }
}

export const browserTemporalLayerSupport: TemporalLayerSupport = () => {
  if (!temporalLayersWanted(typeof localStorage === "undefined" ? null : localStorage)) {
    return Promise.resolve(false);
  }
  const codecs =
    typeof RTCRtpSender !== "undefined" && typeof RTCRtpSender.getCapabilities === "function"
      ? (RTCRtpSender.getCapabilities("video")?.codecs ?? null)
      : null;
  const media =
    typeof navigator !== "undefined" && navigator.mediaCapabilities
      ? (navigator.mediaCapabilities as unknown as MediaCapabilitiesLike)
      : null;
  return temporalLayerSupport(codecs, media);
};

/**
 * The parameters to set for temporal layers, or null when there is nothing to do: no
 * encoding yet (not negotiated), or every encoding already asks for L1T3 (a renegotiation).
 */
export function withTemporalLayers(params: SendParametersLike): SendParametersLike | null {
  if (params.encodings.length === 0) return null;
  if (params.encodings.every((e) => e.scalabilityMode === TEMPORAL_LAYERS)) return null;
  for (const e of params.encodings) e.scalabilityMode = TEMPORAL_LAYERS;
  return params;
}

/**
 * Ask `sender` for temporal layers unless the browser said it cannot (`support` false).
 * Resolves to whether the sender now asks for L1T3; never rejects (a refusal is logged and
 * leaves the sender as it was).
 */
export async function requestTemporalLayers(
  sender: LayeredSenderLike,
  support: boolean | null,
  log: (msg: string) => void = () => undefined,
): Promise<boolean> {
  if (support === false || !sender.getParameters || !sender.setParameters) return false;
  try {
    const params = sender.getParameters();
    const next = withTemporalLayers(params);
    if (next === null) return params.encodings.length > 0;
    await sender.setParameters(next);
    log(`video sent with temporal layers (${TEMPORAL_LAYERS})`);
    return true;
  } catch (e) {
    log(`temporal layers refused by the browser (${String(e)}); one layer`);
    return false;
  }
}
