// The account screens of the app: sign-in, "forgot password" (a reset link by e-mail), and
// choosing a new password with a reset link. Shown through the shell (app.ts).

import { MAX_PASSWORD, MIN_PASSWORD, checkNewPassword, linkProblem } from "../protocol/account";
import type { Api } from "../protocol/api";
import { CircleError } from "../protocol/types";
import { h } from "./dom";
import { errorText } from "./feedback";
import { type ScreenHost, SimpleScreen } from "./screen";

export interface AccountHost extends ScreenHost {
  readonly api: Api;
  /** Signed in (or the password was reset, which signs in): start as the signed-in person. */
  signedIn(): void;
}

export class AccountScreens {
  constructor(private readonly host: AccountHost) {}

  showLogin(): void {
    const i18n = this.host.i18n;
    const t = i18n.t.bind(i18n);
    const email = h("input", { id: "login-email", type: "email", name: "email", autocomplete: "username", required: true });
    const password = h("input", { id: "login-password", type: "password", name: "password", autocomplete: "current-password", required: true });
    const status = h("p", { role: "alert", class: "problem-text" });
    const form = h(
      "form",
      { class: "card narrow", "data-testid": "login" },
      h("h1", { text: t("login.title") }),
      h("p", { text: t("login.intro") }),
      h("label", { for: "login-email", text: t("login.email") }),
      email,
      h("label", { for: "login-password", text: t("login.password") }),
      password,
      status,
      h("button", { type: "submit", class: "btn btn-primary", text: t("login.submit") }),
      h(
        "p",
        {},
        h("a", {
          href: "#forgot",
          class: "link",
          "data-testid": "forgot-link",
          text: t("login.forgot"),
          onclick: (ev: Event) => {
            ev.preventDefault();
            this.showForgot(email.value);
          },
        }),
      ),
    );
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.host.api.login(email.value, password.value).then(
        () => this.host.signedIn(),
        (e: unknown) => {
          const code = e instanceof CircleError ? e.code : "error";
          status.textContent = ["bad_credentials", "unauthenticated", "invalid"].includes(code) ? t("login.failed") : errorText(i18n, code);
        },
      );
    });
    this.host.show(new SimpleScreen(form, t("login.title")), () => this.showLogin());
  }

  showForgot(prefill: string): void {
    const i18n = this.host.i18n;
    const t = i18n.t.bind(i18n);
    const email = h("input", { id: "forgot-email", type: "email", name: "email", autocomplete: "username", required: true, maxlength: 254 });
    email.value = prefill;
    const { form, status, submit } = this.accountForm("forgot", t("forgot.title"), t("forgot.intro"), t("forgot.submit"), [
      h("label", { for: "forgot-email", text: t("login.email") }),
      email,
    ]);
    form.append(this.backToLogin());
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const address = email.value.trim();
      if (!address || !email.checkValidity()) {
        status.textContent = t("forgot.invalid");
        email.focus();
        return;
      }
      submit.disabled = true;
      this.host.api.requestPasswordReset(address).then(
        (r) => this.showForgotSent(r.link_ttl_minutes),
        (e: unknown) => {
          submit.disabled = false;
          const code = e instanceof CircleError ? e.code : "error";
          status.textContent = code === "invalid" ? t("forgot.invalid") : errorText(i18n, code);
        },
      );
    });
    this.host.show(new SimpleScreen(form, t("forgot.title")), () => this.showForgot(email.value));
  }

  private showForgotSent(minutes: number): void {
    const t = this.host.i18n.t.bind(this.host.i18n);
    this.host.showSimple(
      t("forgot.title"),
      h("h1", { text: t("forgot.title") }),
      h("p", { role: "status", "data-testid": "forgot-sent", text: t("forgot.sent", { minutes }) }),
      this.backToLogin(),
    );
  }

  /** A form of the sign-in pages: heading, intro, fields, a line for problems, the button. */
  private accountForm(
    testId: string,
    title: string,
    intro: string,
    submitText: string,
    fields: HTMLElement[],
  ): { form: HTMLFormElement; status: HTMLElement; submit: HTMLButtonElement } {
    const status = h("p", { role: "alert", class: "problem-text", "data-testid": `${testId}-status` });
    const submit = h("button", { type: "submit", class: "btn btn-primary", text: submitText });
    // Checked here, so every message is in the page's language (not the browser's).
    const form = h("form", { class: "card narrow", "data-testid": testId, novalidate: true }, h("h1", { text: title }), h("p", { text: intro }), ...fields, status, submit);
    return { form, status, submit };
  }

  private backToLogin(): HTMLElement {
    return h("p", {}, h("button", { type: "button", class: "btn", text: this.host.i18n.t("forgot.back"), onclick: () => this.showLogin() }));
  }

  /** "Choose a new password" for a reset link (token null: the link cannot be valid). */
  showReset(token: string | null): void {
    const i18n = this.host.i18n;
    const t = i18n.t.bind(i18n);
    if (token === null) {
      this.showLinkProblem("reset.invalid");
      return;
    }
    const attrs = { type: "password", autocomplete: "new-password", required: true, minlength: MIN_PASSWORD, maxlength: MAX_PASSWORD, "aria-describedby": "reset-hint" };
    const password = h("input", { ...attrs, id: "reset-new", name: "new-password" });
    const repeat = h("input", { ...attrs, id: "reset-repeat", name: "repeat-password" });
    const { form, status, submit } = this.accountForm("reset", t("reset.title"), t("reset.intro"), t("reset.submit"), [
      h("label", { for: "reset-new", text: t("reset.new") }),
      password,
      h("label", { for: "reset-repeat", text: t("reset.repeat") }),
      repeat,
      h("p", { id: "reset-hint", class: "muted small", text: t("reset.hint", { n: MIN_PASSWORD }) }),
    ]);
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const problem = checkNewPassword(password.value, repeat.value);
      if (problem !== null) {
        status.textContent = problem === "mismatch" ? t("reset.mismatch") : t("reset.weak", { n: MIN_PASSWORD });
        (problem === "mismatch" ? repeat : password).focus();
        return;
      }
      submit.disabled = true;
      this.host.api.confirmPasswordReset(token, password.value).then(
        () => this.host.signedIn(),
        (e: unknown) => {
          submit.disabled = false;
          const code = e instanceof CircleError ? e.code : "error";
          const key = linkProblem(code);
          if (code === "weak_password") status.textContent = t("reset.weak", { n: MIN_PASSWORD });
          else if (key !== null) this.showLinkProblem(key);
          else status.textContent = errorText(i18n, code);
        },
      );
    });
    this.host.show(new SimpleScreen(form, t("reset.title")), () => this.showReset(token));
  }

  /** A one-click sign-in link: spent only when the person clicks (never on opening the page). */
  showSignin(token: string | null): void {
    const i18n = this.host.i18n;
    const t = i18n.t.bind(i18n);
    if (token === null) {
      this.showLinkProblem("reset.invalid", "signin.title");
      return;
    }
    const { form, status, submit } = this.accountForm("signin", t("signin.title"), t("signin.intro"), t("signin.submit"), []);
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      submit.disabled = true;
      this.host.api.acceptInvitation(token).then(
        () => this.host.signedIn(),
        (e: unknown) => {
          submit.disabled = false;
          const code = e instanceof CircleError ? e.code : "error";
          const key = linkProblem(code);
          if (key !== null) this.showLinkProblem(key, "signin.title");
          else status.textContent = errorText(i18n, code);
        },
      );
    });
    this.host.show(new SimpleScreen(form, t("signin.title")), () => this.showSignin(token));
  }

  /** "I will take part" from the booking notice: recorded only when the person clicks. */
  showConfirmLink(token: string | null): void {
    const i18n = this.host.i18n;
    const t = i18n.t.bind(i18n);
    if (token === null) {
      this.showLinkProblem("reset.invalid", "confirmlink.title");
      return;
    }
    const { form, status, submit } = this.accountForm(
      "confirmlink",
      t("confirmlink.title"),
      t("confirmlink.intro"),
      t("confirmlink.submit"),
      [],
    );
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      submit.disabled = true;
      this.host.api.confirmByLink(token).then(
        () =>
          this.host.showSimple(
            t("confirmlink.title"),
            h("h1", { text: t("confirmlink.title") }),
            h("p", { role: "status", "data-testid": "confirmlink-done", text: t("confirmlink.done") }),
          ),
        (e: unknown) => {
          submit.disabled = false;
          const code = e instanceof CircleError ? e.code : "error";
          status.textContent = errorText(i18n, code);
        },
      );
    });
    this.host.show(new SimpleScreen(form, t("confirmlink.title")), () => this.showConfirmLink(token));
  }

  private showLinkProblem(
    key: "reset.used" | "reset.expired" | "reset.invalid",
    title: "reset.title" | "signin.title" | "confirmlink.title" = "reset.title",
  ): void {
    const t = this.host.i18n.t.bind(this.host.i18n);
    this.host.showSimple(
      t(title),
      h("h1", { text: t(title) }),
      h("p", { role: "alert", "data-testid": "reset-problem", "data-code": key, text: t(key) }),
      h("p", {}, h("button", { type: "button", class: "btn btn-primary", text: t("reset.again"), onclick: () => this.showForgot("") })),
      this.backToLogin(),
    );
  }
}
