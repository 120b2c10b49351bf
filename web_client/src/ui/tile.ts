// One person's tile in the gallery: video (or initials), name, role and status badges.
// Status is always carried by text and shape, never by colour alone: badges are icons whose
// text is there for screen readers (and as a tooltip), so they never cover a face or a name.
// Tiles are focusable; each reads as one summary.

import type { I18n, MessageKey } from "../i18n";
import type { Participant } from "../protocol/types";
import { h, setAttr, setText, show, srOnly } from "./dom";
import { type IconName, icon } from "./icons";

export interface TileState {
  p: Participant;
  isSelf: boolean;
  isPresenter: boolean;
  sittingBack: boolean;
  speaking: boolean;
  calledOn: boolean;
  /** While the room is split (breakouts): where this person is, seen from me, if not with me.
   * Their media does not reach me (the server gates it), so the tile is dimmed and says so. */
  away?: "group" | "main" | null;
}

function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  const first = parts[0]?.[0] ?? "?";
  const last = parts.length > 1 ? (parts[parts.length - 1]?.[0] ?? "") : "";
  return (first + last).toUpperCase();
}

export class Tile {
  readonly el: HTMLLIElement;
  readonly video: HTMLVideoElement;
  private readonly avatar: HTMLElement;
  private readonly nameEl: HTMLElement;
  private readonly roleEl: HTMLElement;
  private readonly badges: HTMLElement;
  private readonly overlay: HTMLElement;
  private tracks: MediaStreamTrack[] = [];

  constructor(
    private readonly i18n: I18n,
    readonly personId: string,
  ) {
    this.video = h("video", { autoplay: true, playsinline: true });
    this.avatar = h("div", { class: "avatar", "aria-hidden": "true" });
    this.nameEl = h("span", { class: "tile-name" });
    this.roleEl = h("span", { class: "tile-role" });
    this.badges = h("span", { class: "tile-badges" });
    this.overlay = h("div", { class: "tile-overlay", hidden: true });
    this.el = h(
      "li",
      { class: "tile", "data-person": personId, tabindex: "0" },
      h("div", { class: "tile-media" }, this.video, this.avatar, this.overlay),
      h("div", { class: "tile-caption" }, this.nameEl, this.roleEl, this.badges),
    );
  }

  /** Attach this person's tracks (local preview for oneself, received tracks for others). */
  setTracks(tracks: MediaStreamTrack[], muteAudio: boolean): void {
    const same =
      tracks.length === this.tracks.length && tracks.every((t, i) => t === this.tracks[i]);
    this.video.muted = muteAudio;
    if (same) return;
    this.tracks = tracks;
    this.video.srcObject = tracks.length > 0 ? new MediaStream(tracks) : null;
    if (tracks.length > 0) this.video.play().catch(() => this.el.dispatchEvent(new CustomEvent("autoplay-blocked", { bubbles: true })));
  }

  playIfPaused(): void {
    if (this.video.srcObject && this.video.paused) this.video.play().catch(() => undefined);
  }

  update(s: TileState): void {
    const t = (k: MessageKey): string => this.i18n.t(k);
    const p = s.p;
    const name = s.isSelf ? `${p.display_name} (${t("tile.you")})` : p.display_name;
    setText(this.nameEl, name);
    setText(this.avatar, initials(p.display_name));
    const role = this.i18n.maybe(`tile.role.${p.role}`) ?? "";
    setText(this.roleEl, [role, s.isPresenter ? t("tile.presenter") : ""].filter(Boolean).join(" · "));

    const badges: [string, IconName, string][] = []; // [class, icon, text]
    if (s.sittingBack) badges.push(["sitback", "chair", t("tile.sittingback")]);
    if (s.speaking) badges.push(["speaking", "speaker", t("tile.speaking")]);
    if (s.calledOn) badges.push(["calledon", "floor", t("tile.calledon")]);
    if (p.hand_raised) badges.push(["hand", "hand", t("tile.hand")]);
    if (p.muted_by_rule && !s.sittingBack) badges.push(["mutedbyroom", "micOff", t("tile.mutedbyroom")]);
    else if (p.self_muted && !p.muted_by_rule) badges.push(["muted", "micOff", t("tile.muted")]);
    if (p.camera_off) badges.push(["cameraoff", "cameraOff", t("tile.cameraoff")]);
    const sig = badges.map((b) => b[2]).join("|");
    if (this.badges.dataset["sig"] !== sig) {
      this.badges.dataset["sig"] = sig;
      this.badges.replaceChildren(
        ...badges.map(([cls, ic, text]) =>
          h("span", { class: `badge badge-${cls}`, title: text }, icon(ic), srOnly(text)),
        ),
      );
    }
    const reconnecting = p.presence === "reconnecting";
    const away = s.away ?? null;
    const awayText = away ? t(away === "group" ? "tile.away.group" : "tile.away.main") : "";
    show(this.overlay, reconnecting || away !== null);
    if (reconnecting) setText(this.overlay, t("tile.reconnecting"));
    else if (away) setText(this.overlay, awayText);
    this.el.classList.toggle("away", away !== null);
    this.el.dataset["away"] = away ?? "";

    const hasVideo = !p.camera_off && this.tracks.some((tr) => tr.kind === "video");
    this.el.classList.toggle("no-video", !hasVideo);
    this.el.classList.toggle("speaking", s.speaking);
    this.el.classList.toggle("presenter", s.isPresenter);
    this.el.classList.toggle("sitting-back", s.sittingBack);
    this.el.classList.toggle("self", s.isSelf);
    this.el.classList.toggle("reconnecting", reconnecting);
    this.el.dataset["speaking"] = String(s.speaking);
    this.el.dataset["sittingBack"] = String(s.sittingBack);
    this.el.dataset["mutedByRule"] = String(p.muted_by_rule);
    // One accessible summary per tile.
    const summary = [name, role, s.isPresenter ? t("tile.presenter") : "", awayText, ...badges.map((b) => b[2])]
      .filter(Boolean)
      .join(", ");
    setAttr(this.el, "aria-label", summary);
  }

  destroy(): void {
    this.video.srcObject = null;
    this.el.remove();
  }
}
