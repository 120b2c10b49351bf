// The phase order of each protocol, mirrored from server/protocols/*.py for labels and the
// progress indicator. The server stays authoritative: an unknown phase is shown by its name.

export const PHASE_ORDER: Readonly<Record<string, readonly string[]>> = {
  balint: ["waiting", "presentation", "questions", "sit_back", "return", "open", "closed"],
  dynamic: ["waiting", "check_in", "open_floor", "closing_round", "closed"],
  peer_support: ["waiting", "conversation", "closed"],
  self_help: ["waiting", "meeting", "closed"],
};

export interface PhasePosition {
  /** 1-based index among the working phases (waiting and closed excluded); 0 outside them. */
  index: number;
  count: number;
  next: string | null;
  previous: string | null;
}

export function phasePosition(
  protocol: string,
  phase: string,
  serverOrder: readonly string[] | null = null,
): PhasePosition {
  const order = serverOrder && serverOrder.length > 0 ? serverOrder : (PHASE_ORDER[protocol] ?? []);
  const working = order.filter((p) => p !== "waiting" && p !== "closed");
  const i = order.indexOf(phase);
  return {
    index: working.indexOf(phase) + 1,
    count: working.length,
    next: i >= 0 && i + 1 < order.length ? (order[i + 1] ?? null) : null,
    previous: i > 0 ? (order[i - 1] ?? null) : null,
  };
}

/** Phases in which the presenter's microphone is cut for them to listen (Balint sit-back). */
export function isSitBack(protocol: string, phase: string): boolean {
  return protocol === "balint" && phase === "sit_back";
}
