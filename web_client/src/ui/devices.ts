// Camera and microphone: acquiring, classifying failures, listing devices, and a level meter.

export type JoinMode = "full" | "audio" | "listen";
export type MediaProblem = "denied" | "nodevice" | "busy" | "other";

export interface DeviceChoice {
  audioId: string | null;
  videoId: string | null;
}

export function classifyMediaError(e: unknown): MediaProblem {
  const name = e instanceof DOMException || e instanceof Error ? e.name : "";
  if (name === "NotAllowedError" || name === "SecurityError" || name === "PermissionDeniedError") {
    return "denied";
  }
  if (name === "NotFoundError" || name === "DevicesNotFoundError" || name === "OverconstrainedError") {
    return "nodevice";
  }
  if (name === "NotReadableError" || name === "TrackStartError" || name === "AbortError") return "busy";
  return "other";
}

function constraint(id: string | null): MediaTrackConstraints | boolean {
  return id ? { deviceId: { exact: id } } : true;
}

/**
 * Ask for camera and microphone. When the camera is missing but a microphone exists, falls
 * back to audio alone (`cameraMissing`). Errors are thrown for the caller to classify.
 */
export async function acquireMedia(
  want: { audio: boolean; video: boolean },
  choice: DeviceChoice,
): Promise<{ stream: MediaStream; cameraMissing: boolean }> {
  const md = navigator.mediaDevices;
  if (!md?.getUserMedia) throw new DOMException("no media devices", "NotFoundError");
  const audio = want.audio ? constraint(choice.audioId) : false;
  const video: MediaTrackConstraints | false = want.video
    ? {
        width: { ideal: 640 },
        height: { ideal: 360 },
        frameRate: { ideal: 24 },
        ...(choice.videoId ? { deviceId: { exact: choice.videoId } } : {}),
      }
    : false;
  try {
    return { stream: await md.getUserMedia({ audio, video }), cameraMissing: false };
  } catch (e) {
    const problem = classifyMediaError(e);
    if (want.video && want.audio && (problem === "nodevice" || problem === "busy")) {
      const stream = await md.getUserMedia({ audio, video: false });
      return { stream, cameraMissing: true };
    }
    throw e;
  }
}

export async function listDevices(): Promise<{ audio: MediaDeviceInfo[]; video: MediaDeviceInfo[] }> {
  const all = (await navigator.mediaDevices?.enumerateDevices?.()) ?? [];
  return {
    audio: all.filter((d) => d.kind === "audioinput"),
    video: all.filter((d) => d.kind === "videoinput"),
  };
}

export function stopStream(stream: MediaStream | null): void {
  for (const t of stream?.getTracks() ?? []) t.stop();
}

/** Reads the microphone level (0..1) of a stream until stopped. */
export class LevelMeter {
  private ctx: AudioContext | null = null;
  private raf = 0;

  constructor(
    stream: MediaStream,
    private readonly onLevel: (level: number) => void,
  ) {
    if (stream.getAudioTracks().length === 0 || typeof AudioContext === "undefined") return;
    const ctx = new AudioContext();
    const source = ctx.createMediaStreamSource(stream);
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 512;
    source.connect(analyser);
    const data = new Uint8Array(analyser.fftSize);
    let last = 0;
    const tick = (t: number): void => {
      this.raf = requestAnimationFrame(tick);
      if (t - last < 100) return;
      last = t;
      analyser.getByteTimeDomainData(data);
      let sum = 0;
      for (const v of data) {
        const x = (v - 128) / 128;
        sum += x * x;
      }
      this.onLevel(Math.min(1, Math.sqrt(sum / data.length) * 4));
    };
    this.raf = requestAnimationFrame(tick);
    this.ctx = ctx;
  }

  stop(): void {
    cancelAnimationFrame(this.raf);
    void this.ctx?.close();
    this.ctx = null;
  }
}

/** Audio outputs (speakers, headsets); empty where the browser does not list them. */
export async function listOutputs(): Promise<MediaDeviceInfo[]> {
  const all = (await navigator.mediaDevices?.enumerateDevices?.()) ?? [];
  return all.filter((d) => d.kind === "audiooutput");
}

/** Whether this browser lets a page choose the speaker (HTMLMediaElement.setSinkId). */
export function canChooseSpeaker(): boolean {
  return typeof HTMLMediaElement !== "undefined" && "setSinkId" in HTMLMediaElement.prototype;
}

type SinkElement = HTMLMediaElement & { setSinkId?: (id: string) => Promise<void> };

/** Play sound from `el` on the speaker `sinkId` ("" is the system default). */
export async function setSink(el: HTMLMediaElement, sinkId: string): Promise<void> {
  const m = el as SinkElement;
  if (m.setSinkId) await m.setSinkId(sinkId);
}

/** A short, gentle test tone (a 440 Hz sine with soft edges) as a WAV file in memory. */
export function toneWav(seconds = 0.8, rate = 16_000): Blob {
  const n = Math.floor(seconds * rate);
  const buf = new ArrayBuffer(44 + n * 2);
  const v = new DataView(buf);
  const str = (o: number, s: string): void => {
    for (let i = 0; i < s.length; i++) v.setUint8(o + i, s.charCodeAt(i));
  };
  str(0, "RIFF");
  v.setUint32(4, 36 + n * 2, true);
  str(8, "WAVEfmt ");
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true); // PCM
  v.setUint16(22, 1, true); // mono
  v.setUint32(24, rate, true);
  v.setUint32(28, rate * 2, true);
  v.setUint16(32, 2, true);
  v.setUint16(34, 16, true);
  str(36, "data");
  v.setUint32(40, n * 2, true);
  const fade = rate * 0.05;
  for (let i = 0; i < n; i++) {
    const edge = Math.min(1, i / fade, (n - i) / fade);
    v.setInt16(44 + i * 2, Math.round(Math.sin((2 * Math.PI * 440 * i) / rate) * 0.3 * edge * 32767), true);
  }
  return new Blob([buf], { type: "audio/wav" });
}

/** Play the test tone on `sinkId`; resolves when it has started (the element is returned). */
export async function playTestTone(sinkId: string): Promise<HTMLAudioElement> {
  const url = URL.createObjectURL(toneWav());
  const audio = new Audio(url);
  audio.addEventListener("ended", () => URL.revokeObjectURL(url), { once: true });
  await setSink(audio, sinkId);
  await audio.play();
  return audio;
}
