import type { Participant, Snapshot } from "../src/protocol/types";

export function participant(id: string, extra: Partial<Participant> = {}): Participant {
  return {
    person_id: id,
    display_name: `Person ${id}`,
    role: "member",
    presence: "present",
    muted_by_rule: false,
    self_muted: false,
    camera_off: false,
    hand_raised: false,
    speaking: false,
    capabilities: ["speak", "show_video", "raise_hand"],
    ...extra,
  };
}

export function snapshot(extra: Partial<Snapshot> = {}): Snapshot {
  return {
    version: 1,
    server_time_ms: 1_000_000,
    session_id: "7",
    protocol: "balint",
    phase: "presentation",
    phase_started_at_ms: 1_000_000,
    phase_ends_at_ms: 1_000_000 + 10 * 60_000,
    remaining_ms: 10 * 60_000,
    phases: null,
    paused: false,
    overrun: false,
    presenter_id: "2",
    called_on: null,
    floor: "hands",
    hands: [],
    participants: [participant("1", { role: "leader", display_name: "Lea" }), participant("2"), participant("3")],
    you: { person_id: "3", capabilities: ["speak", "show_video", "raise_hand"] },
    ended: false,
    ...extra,
  };
}
