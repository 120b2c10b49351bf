import { describe, expect, it } from "vitest";
import {
  advanceGuard,
  agreementParagraphs,
  consoleRights,
  defaultLayout,
  layoutFor,
  floorHolder,
  handOffer,
  leaderNextStep,
  minutesUntil,
  presenterGuard,
  shortcut,
  spotlight,
} from "../src/protocol/room-view";
import { en } from "../src/i18n/en";
import { fa } from "../src/i18n/fa";
import { nl } from "../src/i18n/nl";
import { participant, snapshot } from "./snapshots";

const LEAD = ["lead", "moderate", "note", "speak"];

describe("layout", () => {
  it("phones start in the focus layout, wider screens in the grid", () => {
    expect(defaultLayout(390)).toBe("focus");
    expect(defaultLayout(760)).toBe("focus");
    expect(defaultLayout(1280)).toBe("grid");
  });

  it("shows the presenter large while presenting and on return, on every screen, unless chosen", () => {
    const pres = snapshot({ phase: "presentation", presenter_id: "2" });
    expect(layoutFor(1280, pres, null)).toBe("focus");
    expect(layoutFor(1280, { ...pres, phase: "return" }, null)).toBe("focus");
    expect(layoutFor(1280, { ...pres, phase: "questions" }, null)).toBe("grid");
    expect(layoutFor(390, { ...pres, phase: "questions" }, null)).toBe("focus");
    expect(layoutFor(1280, pres, "grid")).toBe("grid");
    expect(layoutFor(1280, { ...pres, presenter_id: null }, null)).toBe("grid");
  });

  it("spotlights the presenter in presentation and return, whoever speaks", () => {
    for (const phase of ["presentation", "return"]) {
      expect(spotlight(snapshot({ phase, presenter_id: "2" }), "1", null)).toBe("2");
    }
  });

  it("otherwise the person with the floor, then the speaker, then whoever was large", () => {
    const q = snapshot({ phase: "questions", presenter_id: "2", called_on: "1" });
    expect(spotlight(q, "3", null)).toBe("1");
    const open = snapshot({ phase: "open", presenter_id: "2" });
    expect(spotlight(open, "1", "2")).toBe("1");
    // my own voice does not move the spotlight to me; nobody speaking keeps the last one
    expect(spotlight(open, "3", "2")).toBe("2");
    expect(spotlight(open, null, null)).toBe("2"); // the presenter
    expect(spotlight({ ...open, presenter_id: null }, null, null)).toBe("1"); // first other (leader)
    // having the floor myself does not put my own face large
    expect(spotlight(snapshot({ phase: "questions", presenter_id: "2", called_on: "3" }), "3", null)).toBe("2");
    // someone who left is never spotlighted
    const left = snapshot({ phase: "presentation", presenter_id: "2", participants: [participant("1", { role: "leader" }), participant("2", { presence: "left" }), participant("3")] });
    expect(spotlight(left, null, "2")).toBe("1");
  });
});

describe("the floor and the presenter", () => {
  it("says who has the floor and whether it is me", () => {
    expect(floorHolder(snapshot({ called_on: null }))).toBeNull();
    expect(floorHolder(snapshot({ called_on: "3" }))?.mine).toBe(true);
    const other = floorHolder(snapshot({ called_on: "2" }));
    expect(other?.mine).toBe(false);
    expect(other?.person.person_id).toBe("2");
  });

  it("does not offer the accepted presenter 'Raise hand to present'", () => {
    const caps = ["raise_hand", "speak"];
    const waiting = snapshot({ phase: "waiting", presenter_id: null, you: { person_id: "3", capabilities: caps } });
    expect(handOffer(waiting)).toBe("present");
    expect(handOffer({ ...waiting, presenter_id: "3" })).toBe("hidden");
    expect(handOffer({ ...waiting, presenter_id: "2" })).toBe("speak");
    expect(handOffer(snapshot({ phase: "questions", you: { person_id: "3", capabilities: [] } }))).toBe("hidden");
  });
});

describe("waiting room", () => {
  it("counts whole minutes up", () => {
    expect(minutesUntil(4 * 60_000, 0)).toBe(4);
    expect(minutesUntil(3 * 60_000 + 1, 0)).toBe(4);
    expect(minutesUntil(0, 5_000)).toBe(0);
  });

  it("tells the leader the next step", () => {
    const you = { person_id: "1", capabilities: LEAD };
    expect(leaderNextStep(snapshot({ phase: "waiting", presenter_id: null, you }))).toBe("choose_presenter");
    expect(leaderNextStep(snapshot({ phase: "waiting", presenter_id: "2", you }))).toBe("press_next");
    expect(leaderNextStep(snapshot({ phase: "waiting", presenter_id: null, protocol: "dynamic", you }))).toBe("press_next");
    expect(leaderNextStep(snapshot({ phase: "waiting", presenter_id: null }))).toBeNull(); // a member
    expect(leaderNextStep(snapshot({ phase: "questions", you }))).toBeNull();
  });
});

describe("console guards", () => {
  it("Next needs a presenter before the presentation", () => {
    expect(advanceGuard(snapshot({ phase: "waiting", presenter_id: null }))).toBe("console.why.presenter_first");
    expect(advanceGuard(snapshot({ phase: "waiting", presenter_id: "2" }))).toBeNull();
    expect(advanceGuard(snapshot({ phase: "questions", ended: true }))).toBe("console.why.ended");
  });

  it("the presenter is chosen only before the presentation ends", () => {
    expect(presenterGuard(snapshot({ phase: "waiting" }))).toBeNull();
    expect(presenterGuard(snapshot({ phase: "presentation" }))).toBeNull();
    expect(presenterGuard(snapshot({ phase: "questions" }))).toBe("console.why.presenter_locked");
  });

  it("tells a co-leader what they may do", () => {
    expect(consoleRights(snapshot({ you: { person_id: "1", capabilities: ["moderate", "note"] } }))).toEqual({
      lead: false,
      moderate: true,
      note: true,
    });
  });
});

describe("shortcuts", () => {
  const body = { tag: "body", editable: false };
  const key = (code: string, type: "down" | "up" = "down", repeat = false) => ({ code, type, repeat, modifiers: false });

  it("M toggles, never while typing or with modifiers", () => {
    expect(shortcut(key("KeyM"), body, { muted: true, pushing: false })).toBe("toggle-mute");
    expect(shortcut(key("KeyM"), { tag: "textarea", editable: false }, { muted: true, pushing: false })).toBeNull();
    expect(shortcut(key("KeyM"), { tag: "div", editable: true }, { muted: true, pushing: false })).toBeNull();
    expect(shortcut({ ...key("KeyM"), modifiers: true }, body, { muted: true, pushing: false })).toBeNull();
    expect(shortcut(key("KeyM", "down", true), body, { muted: true, pushing: false })).toBeNull();
  });

  it("Space talks while held, only when muted and not on a control", () => {
    expect(shortcut(key("Space"), body, { muted: true, pushing: false })).toBe("talk-start");
    expect(shortcut(key("Space"), { tag: "li", editable: false }, { muted: true, pushing: false })).toBe("talk-start");
    expect(shortcut(key("Space", "down", true), body, { muted: true, pushing: true })).toBeNull();
    expect(shortcut(key("Space", "up"), body, { muted: false, pushing: true })).toBe("talk-end");
    expect(shortcut(key("Space"), body, { muted: false, pushing: false })).toBeNull();
    expect(shortcut(key("Space"), { tag: "button", editable: false }, { muted: true, pushing: false })).toBeNull();
    expect(shortcut(key("Space", "up"), body, { muted: true, pushing: false })).toBeNull();
  });
});

describe("the group agreement", () => {
  it("uses leader wording for leaders and the locale's plural", () => {
    const member = agreementParagraphs("balint", "member", 1, "en").map((p) => p.key);
    expect(member).toContain("agreement.intro.member");
    expect(member).toContain("agreement.method.balint");
    expect(member).toContain("agreement.sessions.one");
    expect(member).not.toContain("agreement.leader.duty");
    const leader = agreementParagraphs("dynamic", "co_leader", 6, "en").map((p) => p.key);
    expect(leader).toContain("agreement.intro.leader");
    expect(leader).toContain("agreement.method.dynamic");
    expect(leader).toContain("agreement.sessions.other");
    expect(leader).toContain("agreement.leader.duty");
    expect(agreementParagraphs("workshop", "member", 0, "en").map((p) => p.key)).toContain("agreement.method.other");
  });

  it("every paragraph key exists in every catalogue", () => {
    for (const cat of [en, fa, nl] as Record<string, string>[]) {
      for (const protocol of ["balint", "dynamic", "peer_support", "x"]) {
        for (const role of ["member", "leader"]) {
          for (const n of [0, 1, 6]) {
            for (const p of agreementParagraphs(protocol, role, n, "en")) expect(cat[p.key], p.key).toBeTruthy();
          }
        }
      }
    }
  });
});
