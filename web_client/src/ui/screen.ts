import type { I18n } from "../i18n";

/** One page of the app: its element, its document title, and cleanup. */
export interface Screen {
  readonly el: HTMLElement;
  readonly title: string;
  destroy(): void;
}

/** A screen that is just an element (with an optional cleanup). */
export class SimpleScreen implements Screen {
  constructor(
    readonly el: HTMLElement,
    readonly title: string,
    private readonly cleanup: () => void = () => undefined,
  ) {}
  destroy(): void {
    this.cleanup();
  }
}

/** Where a screen is shown: the app shell's main area. */
export interface ScreenHost {
  /** The language the screens speak now (it changes when the person picks another). */
  readonly i18n: I18n;
  /** Replace the current screen; `rerender` draws it again (after a change of language). */
  show(screen: Screen, rerender: () => void): void;
  /** A card with the given content. */
  showSimple(title: string, ...content: HTMLElement[]): void;
}
