// Tells the server how big each remote tile is shown (`media.view`, protocol/tile-view.ts):
// measured a frame after every layout change (a presenter enlarged, the focus layout, a phone
// rotated), when the tab is hidden or shown again, and once more for every new media
// connection (the server's side of it starts without a view).

import type { MediaSession } from "../protocol/media";
import { browserTimers } from "../protocol/media-recovery";
import type { RoomClient } from "../protocol/room-client";
import { ViewReporter } from "../protocol/tile-view";
import type { Gallery } from "./gallery";

export class ViewReport {
  private readonly reporter: ViewReporter;
  private frame: number | null = null;
  private readonly offRemote: () => void;
  private readonly onVisibility = (): void => this.schedule();

  constructor(
    private readonly gallery: Gallery,
    client: RoomClient,
    media: MediaSession,
  ) {
    this.reporter = new ViewReporter((tiles) => client.sendView(tiles), browserTimers);
    this.offRemote = media.events.on("remote", () => {
      this.reporter.resend();
      this.schedule();
    });
    document.addEventListener("visibilitychange", this.onVisibility);
    gallery.onLayout = () => this.schedule();
  }

  /** Measure after the browser has laid the tiles out (next frame). A hidden tab runs no
   * animation frames, and every tile is hidden then anyway: at once. */
  schedule(): void {
    if (document.visibilityState === "hidden") {
      this.reporter.report(this.gallery.measure(true));
      return;
    }
    if (this.frame !== null) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = null;
      this.reporter.report(this.gallery.measure(document.visibilityState === "hidden"));
    });
  }

  destroy(): void {
    if (this.frame !== null) cancelAnimationFrame(this.frame);
    this.offRemote();
    document.removeEventListener("visibilitychange", this.onVisibility);
    this.reporter.stop();
  }
}
