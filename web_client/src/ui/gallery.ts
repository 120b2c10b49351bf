// The room's gallery: one tile per person in a stable order, each with its media, laid out
// to fill the space left by the banner and the controls. Two layouts: the grid (everyone the
// same size) and the focus layout (one person large, a strip of the others), which phones use
// by default (room-view.ts decides who is large).

import type { I18n } from "../i18n";
import type { MediaSession, TrackLike } from "../protocol/media";
import { isSitBack } from "../protocol/phases";
import type { Snapshot } from "../protocol/types";
import { type Layout, spotlight } from "../protocol/room-view";
import { type TileSize, tileSize } from "../protocol/tile-view";
import { gridColumns, tileOrder } from "../protocol/view";
import { setSink } from "./devices";
import { h } from "./dom";
import { Tile } from "./tile";

function asTracks(tracks: (TrackLike | null)[]): MediaStreamTrack[] {
  return tracks.filter((t): t is TrackLike => t !== null) as unknown as MediaStreamTrack[];
}

export class Gallery {
  readonly el: HTMLElement;
  private readonly grid: HTMLUListElement;
  private readonly spot: HTMLUListElement;
  private readonly strip: HTMLUListElement;
  private readonly tiles = new Map<string, Tile>();
  private order: string[] = [];
  private mode: Layout = "grid";
  private spotId: string | null = null;
  private last: Snapshot | null = null;
  private sinkId = "";
  /** Who the server says is speaking (besides a participant's own `speaking` flag). */
  speakerId: string | null = null;
  /** Called whenever the tiles may have been laid out anew (their sizes may differ). */
  onLayout: () => void = () => undefined;

  constructor(
    private readonly i18n: I18n,
    private readonly media: MediaSession,
    /** My own stream, shown on my tile. */
    private readonly localStream: () => MediaStream | null,
    /** The pinned controls below the gallery (phones give the gallery the height above them). */
    private readonly footer: () => HTMLElement,
  ) {
    this.grid = h("ul", { class: "gallery-grid" });
    this.spot = h("ul", { class: "gallery-spot", "data-testid": "spotlight" });
    this.strip = h("ul", { class: "gallery-strip", "aria-label": i18n.t("room.layout.strip"), "data-testid": "strip" });
    this.el = h(
      "section",
      { class: "gallery", "aria-label": i18n.t("room.gallery"), "data-testid": "gallery", "data-layout": "grid" },
      this.grid,
      this.spot,
      this.strip,
    );
    this.applyMode();
  }

  get layoutMode(): Layout {
    return this.mode;
  }

  /** Switch between the grid and the focus layout (the tiles keep their media). */
  setLayout(mode: Layout): void {
    if (mode === this.mode) return;
    this.mode = mode;
    this.applyMode();
    this.order = [];
    if (this.last) this.render(this.last);
    this.layout();
  }

  private applyMode(): void {
    const focus = this.mode === "focus";
    this.el.dataset["layout"] = this.mode;
    this.grid.hidden = focus;
    this.spot.hidden = !focus;
    this.strip.hidden = !focus;
  }

  /** Called when a tile's media may not play without a click (the browser's autoplay rule). */
  onAutoplayBlocked(listener: () => void): void {
    this.grid.addEventListener("autoplay-blocked", listener);
  }

  render(s: Snapshot): void {
    this.last = s;
    const people = tileOrder(s.participants);
    const ids = people.map((p) => p.person_id);
    for (const [id, tile] of this.tiles) {
      if (!ids.includes(id)) {
        tile.destroy();
        this.tiles.delete(id);
      }
    }
    const remote = this.media.remoteMedia;
    const sitBack = isSitBack(s.protocol, s.phase);
    // While split into breakout groups: -1 is the main room.
    const groups = s.breakouts?.groups ?? null;
    const groupOf = (id: string): number => (groups ? groups.findIndex((g) => g.includes(id)) : -1);
    const mine = groupOf(s.you.person_id);
    for (const p of people) {
      let tile = this.tiles.get(p.person_id);
      if (!tile) {
        tile = new Tile(this.i18n, p.person_id);
        this.tiles.set(p.person_id, tile);
        if (this.sinkId) void setSink(tile.video, this.sinkId).catch(() => undefined);
      }
      const isSelf = p.person_id === s.you.person_id;
      if (isSelf) {
        tile.setTracks(asTracks(this.localStream()?.getVideoTracks() ?? []), true);
      } else {
        const r = remote.get(p.person_id);
        tile.setTracks(asTracks([r?.audio ?? null, r?.video ?? null]), false);
      }
      tile.update({
        p,
        isSelf,
        isPresenter: p.person_id === s.presenter_id,
        sittingBack: sitBack && p.person_id === s.presenter_id,
        speaking: p.speaking || this.speakerId === p.person_id,
        calledOn: s.called_on === p.person_id,
        away: !groups || isSelf || groupOf(p.person_id) === mine ? null : groupOf(p.person_id) >= 0 ? "group" : "main",
      });
    }
    const focus = this.mode === "focus";
    this.spotId = focus ? spotlight(s, this.speakerId, this.spotId) : null;
    for (const [id, tile] of this.tiles) tile.el.classList.toggle("spot", id === this.spotId);
    const arrangement = [this.mode, this.spotId ?? "", ...ids];
    if (arrangement.join("|") !== this.order.join("|")) {
      this.order = arrangement;
      const els = (list: string[]): HTMLLIElement[] =>
        list.map((id) => this.tiles.get(id)?.el).filter((e): e is HTMLLIElement => !!e);
      if (focus) {
        this.grid.replaceChildren();
        this.spot.replaceChildren(...els(ids.filter((id) => id === this.spotId)));
        this.strip.replaceChildren(...els(ids.filter((id) => id !== this.spotId)));
      } else {
        this.spot.replaceChildren();
        this.strip.replaceChildren();
        this.grid.replaceChildren(...els(ids));
      }
      // Moving a media element pauses it: start them again.
      this.playAll();
      this.layout();
    }
  }

  /** Play every tile's sound on the speaker `sinkId` ("" is the system default). */
  async setSpeaker(sinkId: string): Promise<void> {
    await Promise.all([...this.tiles.values()].map((tile) => setSink(tile.video, sinkId)));
    this.sinkId = sinkId;
  }

  /** Start every paused media element (after a click that allows sound). */
  playAll(): void {
    for (const tile of this.tiles.values()) tile.playIfPaused();
  }

  layout(): void {
    this.onLayout();
    const gallery = this.el;
    if (!gallery.isConnected) return;
    const n = Math.max(1, this.tiles.size);
    const style = getComputedStyle(gallery);
    const pad = parseFloat(style.paddingInlineStart || "0") + parseFloat(style.paddingInlineEnd || "0");
    const padV = parseFloat(style.paddingBlockStart || "0") + parseFloat(style.paddingBlockEnd || "0");
    const w = (gallery.clientWidth || window.innerWidth) - pad;
    const hgt = (gallery.clientHeight || window.innerHeight / 2) - padV;
    if (n === 0 || w <= 0 || hgt <= 0) return;
    // Phones use 4:3 tiles (see styles.css); the grid helper assumes 16:9, so give it the
    // equivalent height.
    const narrow = window.matchMedia("(max-width: 760px)").matches;
    if (narrow) {
      // Phones: the gallery takes the height left between what is above it and the pinned
      // controls, so every tile is on the first screen; the console follows below.
      const top = gallery.getBoundingClientRect().top + window.scrollY;
      const avail = Math.max(220, window.innerHeight - top - this.footer().offsetHeight);
      const px = `${Math.floor(avail)}px`;
      if (gallery.style.height !== px) gallery.style.height = px;
    } else if (gallery.style.height !== "") {
      gallery.style.height = "";
    }
    if (this.mode === "focus") return; // the focus layout is sized by styles.css
    const aspect = narrow ? 4 / 3 : 16 / 9;
    const cols = gridColumns(n, w, (hgt * aspect) / (16 / 9));
    const rows = Math.ceil(n / cols);
    const gap = 8;
    const tileW = Math.min((w - gap * (cols - 1)) / cols, ((hgt - gap * (rows - 1)) / rows) * aspect);
    this.grid.style.setProperty("--cols", String(cols));
    this.grid.style.setProperty("--tile-w", `${Math.max(120, Math.floor(tileW))}px`);
  }

  /** How big each remote tile is shown now (for `media.view`). */
  measure(pageHidden: boolean): Map<string, TileSize> {
    const me = this.last?.you.person_id;
    const out = new Map<string, TileSize>();
    for (const [id, tile] of this.tiles) {
      if (id === me) continue;
      const height = tile.el.isConnected ? tile.el.getBoundingClientRect().height : 0;
      out.set(id, tileSize(height, pageHidden));
    }
    return out;
  }

  destroy(): void {
    for (const tile of this.tiles.values()) tile.destroy();
    this.tiles.clear();
  }
}
