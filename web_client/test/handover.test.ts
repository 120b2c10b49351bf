import { describe, expect, it } from "vitest";
import { handOverTargets } from "../src/i18n/parts/formats";
import { parseSnapshot } from "../src/protocol/types";

// Leader continuity (issue 15): whom the console offers for `hand_over`.
function person(id: string, role: string, presence = "present"): Record<string, unknown> {
  return {
    person_id: id,
    display_name: `P${id}`,
    role,
    presence,
    muted_by_rule: false,
    self_muted: false,
    camera_off: false,
    hand_raised: false,
    capabilities: [],
  };
}

function snap(you: string, standIn: string | null, people: Record<string, unknown>[]): ReturnType<typeof parseSnapshot> {
  return parseSnapshot(
    {
      version: 1, server_time_ms: 1, session_id: "7", protocol: "balint", phase: "questions",
      phase_ends_at_ms: null, remaining_ms: null, paused: false, overrun: false, presenter_id: null,
      floor: "open", hands: [], ended: false, stand_in: standIn,
      lead_reason: standIn ? "handed_over" : null, participants: people,
    },
    you,
  );
}

describe("handOverTargets", () => {
  const people = [person("1", "leader"), person("2", "co_leader"), person("3", "co_leader", "left"), person("4", "member")];

  it("offers the leader the co-leaders present, never members or those who left", () => {
    expect(handOverTargets(snap("1", null, people))).toEqual([{ person_id: "2", display_name: "P2", back: false }]);
  });

  it("offers nobody when no co-leader is present", () => {
    expect(handOverTargets(snap("1", null, [person("1", "leader"), person("4", "member")]))).toEqual([]);
  });

  it("offers the standing-in co-leader the leader, to hand back", () => {
    expect(handOverTargets(snap("2", "2", people))).toEqual([{ person_id: "1", display_name: "P1", back: true }]);
  });

  it("lets the leader take leading back while a co-leader stands in", () => {
    expect(handOverTargets(snap("1", "2", people))).toEqual([{ person_id: "1", display_name: "P1", back: true }]);
  });
});
