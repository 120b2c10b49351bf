// The form page: one fieldset per question with native radio buttons (keyboard and screen
// reader work as the browser makes them), saved after every answer, resumable after a reload,
// submitted only when complete. Item text keeps the instrument's language (lang attribute).

import { CircleError } from "../protocol/types";
import { h, setText } from "../ui/dom";
import type { PageContext } from "./context";
import {
  type AnswerValue,
  type Form,
  type Help,
  type Item,
  type Part,
  missingItems,
  progress,
  withAnswer,
} from "./forms-api";

const RTL = new Set(["fa", "ar", "he", "ur"]);

export class FormPage {
  private form: Form;
  private readonly progressEl = h("p", { id: "form-progress", class: "q-progress", "aria-live": "polite" });
  private readonly helpEl = h("div", { id: "form-help", class: "q-help", role: "alert", hidden: true });
  private readonly submitMsg = h("p", { id: "submit-msg", class: "q-submit-msg", "aria-live": "polite" });
  private readonly submitBtn = h("button", { type: "button", class: "q-primary", "data-testid": "form-submit" });

  constructor(
    private readonly ctx: PageContext,
    initial: Form,
  ) {
    this.form = initial;
  }

  render(): void {
    const { t } = this.ctx;
    const f = this.form;
    const itemLanguages = new Set(f.parts.flatMap((p) => p.items.map((i) => i.lang)));
    const foreign = [...itemLanguages].some((l) => l !== this.ctx.locale);
    setText(this.submitBtn, t("form.submit"));
    this.submitBtn.addEventListener("click", () => void this.submit());
    const body = h(
      "div",
      { class: "q-form", "data-testid": "form", "data-state": f.state },
      h("h1", { tabindex: "-1", id: "page-title" }, t("page.title")),
      h("p", { class: "q-meta" }, `${f.series_title} · ${f.group_name}`),
      h("p", { class: "q-note" }, t("form.voluntary")),
      foreign ? h("p", { class: "q-note" }, t("form.item_language")) : null,
      this.progressEl,
      this.helpEl,
      ...f.parts.map((p) => this.part(p)),
      f.state === "open" ? h("div", { class: "q-actions" }, this.submitBtn, this.submitMsg) : null,
      f.state === "submitted" ? h("p", { class: "q-done", "data-testid": "form-done", tabindex: "-1" }, t("form.submitted")) : null,
      f.state === "closed" ? h("p", { class: "q-done" }, t("form.closed")) : null,
      h("p", {}, h("a", { href: "#" }, t("page.back"))),
    );
    this.ctx.content.replaceChildren(body);
    this.updateProgress();
  }

  private part(p: Part): HTMLElement {
    const headingId = `part-${p.id}`;
    let n = 0;
    return h(
      "section",
      { class: "q-part", "aria-labelledby": headingId },
      h("h2", { id: headingId, lang: p.title_lang, dir: "auto" }, p.title),
      p.instructions ? h("p", { class: "q-instructions", lang: p.instructions_lang ?? undefined, dir: "auto" }, p.instructions) : null,
      ...p.items.map((item) => this.item(p, item, (n += 1))),
    );
  }

  private item(p: Part, item: Item, n: number): HTMLElement {
    const key = `${p.id}.${item.id}`;
    const statusId = `status-${p.id}-${item.id}`;
    const status = h("p", { class: "q-item-status", id: statusId, "aria-live": "polite" });
    const disabled = this.form.state !== "open";
    const legend = h(
      "legend",
      {},
      h("span", { class: "q-num" }, `${this.number(n)}. `),
      h("span", { lang: item.lang, dir: "auto" }, item.text),
      item.required ? h("span", { class: "q-req" }, ` (${this.ctx.t("form.required")})`) : null,
    );
    const current = p.answers[item.id];
    let control: HTMLElement;
    if (item.type === "scale") {
      control = h(
        "div",
        { class: "q-choices" },
        ...item.choices.map((c) => {
          const input = h("input", {
            type: "radio",
            name: key,
            value: String(c.value),
            checked: current === c.value,
            disabled,
            "aria-describedby": statusId,
            onchange: () => void this.save(p.id, item.id, c.value, status),
          });
          return h("label", { class: "q-choice" }, input, h("span", { lang: c.lang, dir: "auto" }, c.label));
        }),
      );
    } else {
      const area = h("textarea", {
        name: key,
        rows: 3,
        maxlength: 2000,
        disabled,
        "aria-describedby": statusId,
        placeholder: this.ctx.t("form.text_placeholder"),
      });
      area.value = typeof current === "string" ? current : "";
      area.addEventListener("change", () => void this.save(p.id, item.id, area.value.trim() === "" ? null : area.value, status));
      control = h("label", { class: "q-text" }, h("span", { class: "visually-hidden" }, item.text), area);
    }
    // The question reads in its own language and direction, whatever the page's.
    const dir = RTL.has(item.lang) ? "rtl" : "ltr";
    return h("fieldset", { class: "q-item", "data-item": key, lang: item.lang, dir }, legend, control, status);
  }

  private number(n: number): string {
    return new Intl.NumberFormat(this.ctx.locale === "fa" ? "fa-IR" : this.ctx.locale).format(n);
  }

  private async save(instrument: string, item: string, value: AnswerValue | null, status: HTMLElement): Promise<void> {
    const { t } = this.ctx;
    const before = this.form;
    this.form = withAnswer(this.form, instrument, item, value);
    setText(status, t("form.saving"));
    status.dataset["state"] = "saving";
    try {
      const result = await this.ctx.forms.answer(this.form.id, instrument, item, value);
      setText(status, t("form.saved"));
      status.dataset["state"] = "saved";
      if (result.help) this.showHelp(result.help);
    } catch (e) {
      this.form = before;
      const message = e instanceof CircleError && e.code === "network" ? t("error.network") : e instanceof Error ? e.message : String(e);
      setText(status, t("form.not_saved", { message }));
      status.dataset["state"] = "error";
      this.restore(instrument, item);
    }
    this.updateProgress();
  }

  /** Put the control back to the last saved answer after a refusal. */
  private restore(instrument: string, item: string): void {
    const saved = this.form.parts.find((p) => p.id === instrument)?.answers[item];
    const name = `${instrument}.${item}`;
    for (const el of this.ctx.content.querySelectorAll<HTMLInputElement>(`input[name="${CSS.escape(name)}"]`)) {
      el.checked = saved !== undefined && el.value === String(saved);
    }
  }

  private showHelp(help: Help): void {
    const { t } = this.ctx;
    this.helpEl.replaceChildren(h("h2", {}, t("help.title")), h("p", { "data-testid": "help-text" }, help.text));
    if (help.leaders_told) this.helpEl.append(h("p", {}, t("help.leaders")));
    this.helpEl.hidden = false;
  }

  private updateProgress(): void {
    const p = progress(this.form);
    setText(this.progressEl, this.ctx.t("form.progress", p));
    this.submitBtn.setAttribute("aria-describedby", "submit-msg form-progress");
  }

  private async submit(): Promise<void> {
    const { t } = this.ctx;
    const missing = missingItems(this.form);
    if (missing.length > 0) {
      setText(this.submitMsg, t("form.missing", { count: missing.length }));
      const first = this.ctx.content.querySelector<HTMLElement>(`[data-item="${CSS.escape(missing[0] ?? "")}"] input, [data-item="${CSS.escape(missing[0] ?? "")}"] textarea`);
      first?.focus();
      return;
    }
    this.submitBtn.disabled = true;
    try {
      const done = await this.ctx.forms.submit(this.form.id);
      this.form = { ...this.form, state: done.state };
      this.render();
      this.ctx.content.querySelector<HTMLElement>("[data-testid=form-done]")?.focus();
    } catch (e) {
      this.submitBtn.disabled = false;
      setText(this.submitMsg, e instanceof Error ? e.message : t("error.generic"));
    }
  }
}
