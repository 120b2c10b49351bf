// "Reconnecting media": the room says so while the media connection is broken and being
// repaired (MediaSession's health), and says when it is back. Never silent.

import type { I18n } from "../i18n";
import type { MediaSession } from "../protocol/media";
import type { MediaHealth } from "../protocol/media-recovery";
import { h, setText, show } from "./dom";
import type { Feedback } from "./feedback";

export class MediaStatus {
  readonly el: HTMLElement;
  private readonly off: () => void;
  private shown = false;

  constructor(
    private readonly i18n: I18n,
    media: MediaSession,
    private readonly feedback: Feedback,
  ) {
    this.el = h("div", { class: "conn-banner", role: "status", hidden: true, "data-testid": "media-banner" });
    this.off = media.events.on("health", (health) => this.update(health));
    this.update(media.health);
  }

  private update(health: MediaHealth): void {
    const t = this.i18n.t.bind(this.i18n);
    if (health === "ok") {
      show(this.el, false);
      if (this.shown) this.feedback.toast(t("media.reconnected"));
      this.shown = false;
      return;
    }
    setText(this.el, t(health === "lost" ? "media.lost" : "media.reconnecting"));
    show(this.el, true);
    this.el.dataset["health"] = health;
    this.shown = true;
  }

  destroy(): void {
    this.off();
  }
}
