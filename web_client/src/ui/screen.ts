/** One page of the app: its element, its document title, and cleanup. */
export interface Screen {
  readonly el: HTMLElement;
  readonly title: string;
  destroy(): void;
}
