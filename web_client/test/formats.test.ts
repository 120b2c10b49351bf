import { describe, expect, it } from "vitest";
import { I18n } from "../src/i18n";
import { leadNotice } from "../src/i18n/parts/formats";
import { parseSnapshot } from "../src/protocol/types";

// Leader continuity (issue 15): the notice for who leads in the leader's place.
function snap(standIn: string | null, reason: string | null): ReturnType<typeof parseSnapshot> {
  return parseSnapshot(
    {
      version: 3,
      server_time_ms: 1,
      session_id: "7",
      protocol: "balint",
      phase: "sit_back",
      phase_ends_at_ms: null,
      remaining_ms: null,
      paused: false,
      overrun: false,
      presenter_id: null,
      floor: "open",
      hands: [],
      ended: false,
      stand_in: standIn,
      lead_reason: reason,
      participants: [
        {
          person_id: "2",
          display_name: "Najmeh",
          role: "co_leader",
          presence: "present",
          muted_by_rule: false,
          self_muted: false,
          camera_off: false,
          hand_raised: false,
          capabilities: ["lead", "moderate", "stand_in"],
        },
      ],
    },
    "2",
  );
}

describe("leader continuity notice", () => {
  it("names the co-leader who leads, and says when the leader is back", () => {
    const s = snap("2", "leader_lost");
    expect(s.stand_in).toBe("2");
    expect(s.lead_reason).toBe("leader_lost");
    expect(leadNotice(new I18n("en", "UTC"), s)).toBe("Najmeh is leading while the leader's connection is lost.");
    expect(leadNotice(new I18n("en", "UTC"), snap("2", "handed_over"))).toContain("handed over");
    expect(leadNotice(new I18n("nl", "UTC"), snap(null, null))).toBe("De leider leidt de groep weer.");
    expect(leadNotice(new I18n("fa", "UTC"), s)).toContain("Najmeh");
  });
});
