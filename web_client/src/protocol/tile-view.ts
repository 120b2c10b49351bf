// How big this page shows each remote person's tile, told to the server (`media.view`) so a
// small or hidden tile gets fewer of that person's temporal layers (docs/media.md, "Tile
// sizes"): large all (30 fps), small layers 0-1 (15 fps), hidden layer 0 (7.5 fps).

import type { Timers } from "./media-recovery";

/** The `media.view` words (the server's `TileSize`, server/media/port.py). */
export const TILE_SIZES = ["large", "small", "hidden"] as const;
export type TileSize = (typeof TILE_SIZES)[number];

/** A tile at least this tall (CSS pixels) is large: half the 360-line stream or more. */
export const LARGE_TILE_MIN_PX = 180;
/** At most one report per this interval; the latest view wins. */
export const VIEW_MIN_INTERVAL_MS = 500;

export interface TileViewWire {
  person_id: string;
  size: TileSize;
}

/** The size word for a tile `heightPx` tall (0: not laid out) on a page that may be hidden. */
export function tileSize(heightPx: number, pageHidden: boolean): TileSize {
  if (pageHidden || !(heightPx > 0)) return "hidden";
  return heightPx >= LARGE_TILE_MIN_PX ? "large" : "small";
}

function wire(tiles: ReadonlyMap<string, TileSize>): TileViewWire[] {
  return [...tiles]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([person_id, size]) => ({ person_id, size }));
}

/**
 * Sends the view when it changes, at most once per `minIntervalMs` (a resize sends one
 * report, not one per frame); `resend()` after a new connection, whose server side starts
 * without a view.
 */
export class ViewReporter {
  private sent: string | null = null;
  private pending: TileViewWire[] | null = null;
  private timer: unknown = null;
  private lastAt = -Infinity;

  constructor(
    private readonly send: (tiles: TileViewWire[]) => void,
    private readonly timers: Timers,
    private readonly now: () => number = () => Date.now(),
    private readonly minIntervalMs = VIEW_MIN_INTERVAL_MS,
  ) {}

  report(tiles: ReadonlyMap<string, TileSize>): void {
    if (tiles.size === 0) return; // nobody else to show: nothing to say
    const view = wire(tiles);
    const key = JSON.stringify(view);
    if (key === this.sent && this.pending === null) return;
    this.pending = key === this.sent ? null : view;
    if (this.pending === null || this.timer !== null) return;
    const wait = this.lastAt + this.minIntervalMs - this.now();
    if (wait <= 0) this.flush();
    else this.timer = this.timers.set(() => this.flush(), wait);
  }

  /** Forget what was sent: the next report goes out even if it is the same. */
  resend(): void {
    this.sent = null;
  }

  stop(): void {
    if (this.timer !== null) this.timers.clear(this.timer);
    this.timer = null;
    this.pending = null;
  }

  private flush(): void {
    this.timer = null;
    const view = this.pending;
    if (view === null) return;
    this.pending = null;
    this.sent = JSON.stringify(view);
    this.lastAt = this.now();
    this.send(view);
  }
}
