// The room's keyboard shortcuts: M mutes or unmutes, and while muted, holding Space talks
// (push-to-talk) until it is released. The decision is room-view.ts's `shortcut`; each change
// is announced to screen readers. The room's rule still holds: a held microphone is not
// opened by a key (the server refuses, and the held note says why).

import type { I18n } from "../i18n";
import { shortcut } from "../protocol/room-view";
import type { MicControl } from "../protocol/view";

export interface KeyHost {
  i18n: I18n;
  /** The microphone control now (null: not in the room yet). */
  mic: () => MicControl | null;
  /** The same as pressing the microphone button. */
  toggleMute: () => Promise<void>;
  /** Open (true) or close (false) the microphone for push-to-talk. */
  talk: (open: boolean) => Promise<void>;
  announce: (text: string) => void;
}

export class RoomKeys {
  private pushing = false;
  private readonly down = (ev: KeyboardEvent): void => this.onKey(ev, "down");
  private readonly up = (ev: KeyboardEvent): void => this.onKey(ev, "up");
  private readonly blur = (): void => {
    // Releasing Space outside the window must not leave the microphone open.
    if (this.pushing) void this.stopTalking();
  };

  constructor(private readonly host: KeyHost) {
    document.addEventListener("keydown", this.down);
    document.addEventListener("keyup", this.up);
    window.addEventListener("blur", this.blur);
  }

  destroy(): void {
    document.removeEventListener("keydown", this.down);
    document.removeEventListener("keyup", this.up);
    window.removeEventListener("blur", this.blur);
  }

  private onKey(ev: KeyboardEvent, type: "down" | "up"): void {
    const mic = this.host.mic();
    if (mic === null || document.querySelector("dialog[open]")) return;
    const el = ev.target instanceof HTMLElement ? ev.target : null;
    const action = shortcut(
      { type, code: ev.code, repeat: ev.repeat, modifiers: ev.ctrlKey || ev.altKey || ev.metaKey },
      { tag: el?.tagName.toLowerCase() ?? "body", editable: el?.isContentEditable ?? false },
      { muted: mic === "muted", pushing: this.pushing },
    );
    if (action === null) return;
    ev.preventDefault();
    const t = this.host.i18n.t.bind(this.host.i18n);
    if (action === "toggle-mute") {
      if (mic === "muted" || mic === "live") {
        this.host.announce(t(mic === "muted" ? "room.mic.announce.live" : "room.mic.announce.muted"));
      }
      void this.host.toggleMute();
    } else if (action === "talk-start") {
      this.pushing = true;
      this.host.announce(t("room.ptt.on"));
      void this.host.talk(true);
    } else {
      void this.stopTalking();
    }
  }

  private async stopTalking(): Promise<void> {
    this.pushing = false;
    this.host.announce(this.host.i18n.t("room.ptt.off"));
    await this.host.talk(false);
  }
}
