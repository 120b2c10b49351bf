// Temporal layers for our camera: ask the browser's VP8 encoder for L1T3 (three temporal
// layers: 7.5, 15 and 30 fps), so the server can give a weak receiver fewer frames without
// touching anyone else's stream (docs/media.md, "Per-receiver adaptation").
//
// The server is the offerer, so the video sender comes from its offer and has one encoding;
// once our answer is set, `setParameters` adds `scalabilityMode` to it. Only where the
// browser says its VP8 encoder can do L1T3 (`RTCRtpSender.getCapabilities("video")` lists
// `scalabilityModes`); a browser that does not say so keeps sending one layer, and a refused
// `setParameters` changes nothing (media keeps flowing as before).

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

/** The video codecs the browser can send, or null when it cannot say (not a browser). */
export type VideoCodecs = () => readonly CodecCapabilityLike[] | null;

export const browserVideoCodecs: VideoCodecs = () => {
  if (typeof RTCRtpSender === "undefined" || typeof RTCRtpSender.getCapabilities !== "function") {
    return null;
  }
  return RTCRtpSender.getCapabilities("video")?.codecs ?? null;
};

/** Whether the browser's VP8 encoder lists L1T3 (the one codec the server negotiates). */
export function supportsTemporalLayers(codecs: readonly CodecCapabilityLike[] | null): boolean {
  if (codecs === null) return false;
  return codecs.some(
    (c) => c.mimeType.toLowerCase() === "video/vp8" && (c.scalabilityModes ?? []).includes(TEMPORAL_LAYERS),
  );
}

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
 * Ask `sender` for temporal layers if the browser supports them. Resolves to whether the
 * sender now asks for L1T3; never rejects (a refusal is logged and leaves the sender as it was).
 */
export async function requestTemporalLayers(
  sender: LayeredSenderLike,
  codecs: readonly CodecCapabilityLike[] | null,
  log: (msg: string) => void = () => undefined,
): Promise<boolean> {
  if (!supportsTemporalLayers(codecs) || !sender.getParameters || !sender.setParameters) {
    return false;
  }
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
