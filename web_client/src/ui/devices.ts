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
