import { describe, expect, it } from "vitest";
import {
  LARGE_TILE_MIN_PX,
  TILE_SIZES,
  type TileSize,
  type TileViewWire,
  tileSize,
  ViewReporter,
  VIEW_MIN_INTERVAL_MS,
} from "../src/protocol/tile-view";

class ManualTimers {
  now = 0;
  private queue: { at: number; fn: () => void; id: number }[] = [];
  private next = 1;
  set = (fn: () => void, ms: number): unknown => {
    const id = this.next++;
    this.queue.push({ at: this.now + ms, fn, id });
    return id;
  };
  clear = (handle: unknown): void => {
    this.queue = this.queue.filter((t) => t.id !== handle);
  };
  advance(ms: number): void {
    this.now += ms;
    const due = this.queue.filter((t) => t.at <= this.now);
    this.queue = this.queue.filter((t) => t.at > this.now);
    for (const t of due) t.fn();
  }
}

function setup(): { timers: ManualTimers; sent: TileViewWire[][]; reporter: ViewReporter } {
  const timers = new ManualTimers();
  const sent: TileViewWire[][] = [];
  const reporter = new ViewReporter((v) => sent.push(v), timers, () => timers.now);
  return { timers, sent, reporter };
}

const view = (entries: [string, TileSize][]): Map<string, TileSize> => new Map(entries);

describe("tile sizes", () => {
  it("are the server's words", () => {
    expect([...TILE_SIZES]).toEqual(["large", "small", "hidden"]);
  });
  it("follow the tile's height and the page's visibility", () => {
    expect(tileSize(LARGE_TILE_MIN_PX, false)).toBe("large");
    expect(tileSize(480, false)).toBe("large");
    expect(tileSize(LARGE_TILE_MIN_PX - 1, false)).toBe("small"); // the focus strip, phones
    expect(tileSize(114, false)).toBe("small");
    expect(tileSize(0, false)).toBe("hidden"); // not laid out
    expect(tileSize(Number.NaN, false)).toBe("hidden");
    expect(tileSize(480, true)).toBe("hidden"); // the tab is hidden: every tile
  });
});

describe("the view reporter", () => {
  it("sends a view once, sorted, and again only when it changes", () => {
    const { sent, reporter } = setup();
    reporter.report(view([["9", "small"], ["10", "large"]]));
    expect(sent).toEqual([
      [
        { person_id: "10", size: "large" },
        { person_id: "9", size: "small" },
      ],
    ]);
    reporter.report(view([["10", "large"], ["9", "small"]]));
    expect(sent).toHaveLength(1);
  });

  it("says nothing while there is nobody else", () => {
    const { timers, sent, reporter } = setup();
    reporter.report(view([]));
    timers.advance(VIEW_MIN_INTERVAL_MS);
    expect(sent).toEqual([]);
  });

  it("sends at most one report per interval, the latest view", () => {
    const { timers, sent, reporter } = setup();
    reporter.report(view([["1", "large"]]));
    timers.advance(100);
    reporter.report(view([["1", "small"]]));
    reporter.report(view([["1", "hidden"]]));
    expect(sent).toHaveLength(1);
    timers.advance(VIEW_MIN_INTERVAL_MS);
    expect(sent).toHaveLength(2);
    expect(sent[1]).toEqual([{ person_id: "1", size: "hidden" }]);
  });

  it("drops a pending change that went back to what was sent", () => {
    const { timers, sent, reporter } = setup();
    reporter.report(view([["1", "large"]]));
    reporter.report(view([["1", "small"]]));
    reporter.report(view([["1", "large"]]));
    timers.advance(VIEW_MIN_INTERVAL_MS);
    expect(sent).toHaveLength(1);
  });

  it("resends the same view after a new connection, and stops", () => {
    const { timers, sent, reporter } = setup();
    reporter.report(view([["1", "large"]]));
    reporter.resend();
    timers.advance(VIEW_MIN_INTERVAL_MS);
    reporter.report(view([["1", "large"]]));
    expect(sent).toHaveLength(2);
    reporter.report(view([["1", "small"]]));
    reporter.stop();
    timers.advance(VIEW_MIN_INTERVAL_MS);
    expect(sent).toHaveLength(2);
  });
});
