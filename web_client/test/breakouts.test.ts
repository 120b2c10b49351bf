import { describe, expect, it } from "vitest";
import { parseSnapshot } from "../src/protocol/types";
import { snapshot } from "./snapshots";

describe("breakouts in the snapshot", () => {
  it("reads the groups and whether the leader may split", () => {
    const s = parseSnapshot({
      ...snapshot(),
      breakouts_allowed: true,
      breakouts: { groups: [["1", "2"], ["3", "4"]], started_at_ms: 10, ends_at_ms: 900_010, remaining_ms: 900_000 },
    });
    expect(s.breakouts_allowed).toBe(true);
    expect(s.breakouts).toEqual({
      groups: [
        ["1", "2"],
        ["3", "4"],
      ],
      started_at_ms: 10,
      ends_at_ms: 900_010,
      remaining_ms: 900_000,
    });
  });

  it("is not split, and not allowed, when the server says nothing or null", () => {
    const s = parseSnapshot({ ...snapshot(), breakouts: null });
    expect(s.breakouts).toBeNull();
    expect(s.breakouts_allowed).toBe(false);
    expect(parseSnapshot(snapshot()).breakouts).toBeNull();
  });
});
