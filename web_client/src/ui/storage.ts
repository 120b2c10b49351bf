// The only thing kept in the browser: which session this tab is in and how it joined, so a
// reload lands back in the room without the pre-join check. Per tab (sessionStorage), removed
// on leaving, at the end, or on failure. Nothing said or shown in the session is stored.

import type { DeviceChoice, JoinMode } from "./devices";

const KEY = "circle.rejoin";

interface Rejoin {
  session_id: string;
  mode: JoinMode;
  choice: DeviceChoice;
}

export function saveRejoin(sessionId: string, mode: JoinMode, choice: DeviceChoice): void {
  try {
    sessionStorage.setItem(KEY, JSON.stringify({ session_id: sessionId, mode, choice } satisfies Rejoin));
  } catch {
    // storage disabled: a reload shows the pre-join check again
  }
}

export function loadRejoin(sessionId: string): { mode: JoinMode; choice: DeviceChoice } | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (!raw) return null;
    const r = JSON.parse(raw) as Partial<Rejoin>;
    if (r.session_id !== sessionId) return null;
    const mode: JoinMode = r.mode === "audio" || r.mode === "listen" ? r.mode : "full";
    const c = r.choice;
    return {
      mode,
      choice: {
        audioId: typeof c?.audioId === "string" ? c.audioId : null,
        videoId: typeof c?.videoId === "string" ? c.videoId : null,
      },
    };
  } catch {
    return null;
  }
}

export function clearRejoin(): void {
  try {
    sessionStorage.removeItem(KEY);
  } catch {
    // nothing stored
  }
}
