// Pure derivations from a snapshot, used by the UI: who I am, what I may do, tile order.

import type { Participant, Snapshot } from "./types";

export const LEADER_ROLES: ReadonlySet<string> = new Set(["leader", "co_leader"]);

export function self(s: Snapshot): Participant | null {
  return s.participants.find((p) => p.person_id === s.you.person_id) ?? null;
}

/** Phase commands (advance, back, pause, adjust, end, choose presenter): capability `lead`. */
export function canLead(s: Snapshot): boolean {
  return s.you.capabilities.includes("lead");
}

/** Floor commands (call on, open the floor): capability `moderate`. */
export function canModerate(s: Snapshot): boolean {
  return s.you.capabilities.includes("moderate");
}

/** The leaders' private note: capability `note`. */
export function canNote(s: Snapshot): boolean {
  return s.you.capabilities.includes("note");
}

/** The console is shown to leaders and co-leaders, with the controls their capabilities allow. */
export function showsConsole(s: Snapshot): boolean {
  const me = self(s);
  return canLead(s) || canModerate(s) || canNote(s) || (me !== null && LEADER_ROLES.has(me.role));
}

export function isPresenter(s: Snapshot, personId: string): boolean {
  return s.presenter_id === personId;
}

/** True when the room's rule holds my microphone closed. */
export function micHeldByRoom(s: Snapshot): boolean {
  return self(s)?.muted_by_rule === true;
}

const ROLE_RANK: Record<string, number> = { leader: 0, co_leader: 1 };

/**
 * Tile order: leaders first, then everyone else by name. The order is stable (it does not
 * follow the active speaker), so people keep their place on the screen and faces stay easy
 * to find; people who left are not shown.
 */
export function tileOrder(participants: readonly Participant[]): Participant[] {
  return participants
    .filter((p) => p.presence !== "left")
    .sort((a, b) => {
      const ra = ROLE_RANK[a.role] ?? 2;
      const rb = ROLE_RANK[b.role] ?? 2;
      if (ra !== rb) return ra - rb;
      const byName = a.display_name.localeCompare(b.display_name);
      return byName !== 0 ? byName : a.person_id.localeCompare(b.person_id);
    });
}

/** Raised hands in the order they were raised, resolved to participants. */
export function handQueue(s: Snapshot): Participant[] {
  const byId = new Map(s.participants.map((p) => [p.person_id, p]));
  return s.hands.map((id) => byId.get(id)).filter((p): p is Participant => p !== undefined);
}

/** Grid for n tiles in a w x h box (16:9 tiles): the column count that makes tiles largest. */
export function gridColumns(n: number, width: number, height: number, gap = 8): number {
  if (n <= 1) return 1;
  let best = 1;
  let bestArea = 0;
  for (let cols = 1; cols <= n; cols++) {
    const rows = Math.ceil(n / cols);
    const tileW = (width - gap * (cols - 1)) / cols;
    const tileH = (height - gap * (rows - 1)) / rows;
    const w = Math.min(tileW, (tileH * 16) / 9);
    if (w <= 0) continue;
    const area = w * ((w * 9) / 16);
    if (area > bestArea) {
      bestArea = area;
      best = cols;
    }
  }
  return best;
}

/**
 * What the microphone control offers. The room's rule comes first: while it holds the mic
 * (muted_by_rule) the control is the calm explanation, so nobody is invited to turn on a device
 * the room keeps silent. Someone listening only gets their own explanation ("held-listening":
 * they have no microphone that could come back by itself). Without a local microphone
 * (listen-only) and no hold, it offers to turn one on; otherwise mute/unmute.
 */
export type MicControl = "held" | "held-listening" | "turn-on" | "muted" | "live";

export function micControl(state: { hasTrack: boolean; heldByRoom: boolean; selfMuted: boolean }): MicControl {
  if (state.heldByRoom) return state.hasTrack ? "held" : "held-listening";
  if (!state.hasTrack) return "turn-on";
  return state.selfMuted ? "muted" : "live";
}

/** The camera control: turn one on (joined without a camera), or switch it on/off. */
export type CamControl = "turn-on" | "off" | "on";

export function camControl(state: { hasTrack: boolean; cameraOff: boolean }): CamControl {
  if (!state.hasTrack) return "turn-on";
  return state.cameraOff ? "off" : "on";
}
