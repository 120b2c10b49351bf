// The room's gallery: one tile per person in a stable order, each with its media, laid out
// to fill the space left by the banner and the controls.

import type { I18n } from "../i18n";
import type { MediaSession, TrackLike } from "../protocol/media";
import { isSitBack } from "../protocol/phases";
import type { Snapshot } from "../protocol/types";
import { gridColumns, tileOrder } from "../protocol/view";
import { h } from "./dom";
import { Tile } from "./tile";

function asTracks(tracks: (TrackLike | null)[]): MediaStreamTrack[] {
  return tracks.filter((t): t is TrackLike => t !== null) as unknown as MediaStreamTrack[];
}

export class Gallery {
  readonly el: HTMLElement;
  private readonly grid: HTMLUListElement;
  private readonly tiles = new Map<string, Tile>();
  private order: string[] = [];
  /** Who the server says is speaking (besides a participant's own `speaking` flag). */
  speakerId: string | null = null;

  constructor(
    private readonly i18n: I18n,
    private readonly media: MediaSession,
    /** My own stream, shown on my tile. */
    private readonly localStream: () => MediaStream | null,
    /** The pinned controls below the gallery (phones give the gallery the height above them). */
    private readonly footer: () => HTMLElement,
  ) {
    this.grid = h("ul", { class: "gallery-grid" });
    this.el = h("section", { class: "gallery", "aria-label": i18n.t("room.gallery"), "data-testid": "gallery" }, this.grid);
  }

  /** Called when a tile's media may not play without a click (the browser's autoplay rule). */
  onAutoplayBlocked(listener: () => void): void {
    this.grid.addEventListener("autoplay-blocked", listener);
  }

  render(s: Snapshot): void {
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
    for (const p of people) {
      let tile = this.tiles.get(p.person_id);
      if (!tile) {
        tile = new Tile(this.i18n, p.person_id);
        this.tiles.set(p.person_id, tile);
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
      });
    }
    if (ids.join("|") !== this.order.join("|")) {
      this.order = ids;
      this.grid.replaceChildren(...ids.map((id) => this.tiles.get(id)?.el).filter((e): e is HTMLLIElement => !!e));
      // Moving a media element pauses it: start them again.
      this.playAll();
      this.layout();
    }
  }

  /** Start every paused media element (after a click that allows sound). */
  playAll(): void {
    for (const tile of this.tiles.values()) tile.playIfPaused();
  }

  layout(): void {
    const gallery = this.el;
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
    const aspect = narrow ? 4 / 3 : 16 / 9;
    const cols = gridColumns(n, w, (hgt * aspect) / (16 / 9));
    const rows = Math.ceil(n / cols);
    const gap = 8;
    const tileW = Math.min((w - gap * (cols - 1)) / cols, ((hgt - gap * (rows - 1)) / rows) * aspect);
    this.grid.style.setProperty("--cols", String(cols));
    this.grid.style.setProperty("--tile-w", `${Math.max(120, Math.floor(tileW))}px`);
  }

  destroy(): void {
    for (const tile of this.tiles.values()) tile.destroy();
    this.tiles.clear();
  }
}
