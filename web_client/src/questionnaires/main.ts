// The questionnaire pages (/app/questionnaires.html): a mailed one-click link (#form=<token>,
// redeemed by POST and removed from the address bar at once), one form (#f=<id>), the leaders'
// safety alerts of a group (#alerts=<id>), or "my questionnaires and scores".

import "./questionnaires.css";
import { Api, readCookie } from "../protocol/api";
import { LOCALES, LOCALE_NAMES, chooseLocale } from "../i18n";
import type { Locale, Me } from "../protocol/types";
import { h } from "../ui/dom";
import { type PageContext, makeContext } from "./context";
import { FormsApi, accessKey, parseRoute } from "./forms-api";
import { CircleError } from "../protocol/types";
import { FormPage } from "./form-page";
import { qt } from "./messages";
import { alertsSection, renderMine } from "./mine-page";

const params = new URLSearchParams(location.search);

function storedAccess(formId: number): string | null {
  try {
    return sessionStorage.getItem(accessKey(formId));
  } catch {
    return null;
  }
}

function frame(locale: Locale): HTMLElement {
  document.documentElement.lang = locale;
  document.documentElement.dir = locale === "fa" ? "rtl" : "ltr";
  const select = h("select", { id: "q-lang" }, ...LOCALES.map((l) => h("option", { value: l, selected: l === locale, lang: l }, LOCALE_NAMES[l])));
  select.addEventListener("change", () => {
    params.set("lang", select.value);
    location.search = params.toString();
  });
  const content = h("main", { id: "content", tabindex: "-1" });
  const root = document.getElementById("q-root");
  root?.replaceChildren(
    h("a", { class: "q-skip", href: "#content", onclick: (e: Event) => { e.preventDefault(); content.focus(); } }, qt(locale, "page.skip")),
    h(
      "header",
      { class: "q-header" },
      h("a", { href: "/app/", class: "q-brand" }, "Healers' Circle"),
      h("span", { class: "q-lang" }, h("label", { for: "q-lang" }, qt(locale, "page.language")), " ", select),
    ),
    content,
  );
  return content;
}

async function me(api: Api): Promise<Me | null> {
  try {
    return await api.me();
  } catch {
    return null;
  }
}

function message(ctx: PageContext, text: string, signIn: boolean): void {
  ctx.content.replaceChildren(
    h("h1", { tabindex: "-1", id: "page-title" }, ctx.t("page.title")),
    h("p", { "data-testid": "page-message" }, text),
  );
  if (signIn) ctx.content.append(h("p", {}, h("a", { href: "/app/" }, ctx.t("signin.link"))));
}

async function route(ctx: PageContext, profile: Me | null): Promise<void> {
  const r = parseRoute(location.hash);
  if (r.kind === "link") {
    history.replaceState(null, "", `${location.pathname}${location.search}`); // the token leaves the bar
    try {
      const got = await ctx.forms.redeem(r.token);
      try {
        sessionStorage.setItem(accessKey(got.form_id), got.access);
      } catch {
        /* private mode: this page still works until it is reloaded */
      }
      history.replaceState(null, "", `${location.pathname}${location.search}#f=${got.form_id}`);
      return showForm(ctx, got.form_id);
    } catch (e) {
      const code = e instanceof CircleError ? e.code : "error";
      const key = code === "used" ? "link.used" : code === "expired" ? "link.expired" : code === "foreign_link" ? "link.foreign" : "link.invalid";
      return message(ctx, ctx.t(key), true);
    }
  }
  if (r.kind === "form") return showForm(ctx, r.id);
  if (profile === null) return message(ctx, ctx.t("signin.needed"), true);
  if (r.kind === "alerts") {
    const g = profile.groups.find((x) => Number(x.id) === r.groupId);
    ctx.content.replaceChildren(
      h("h1", { tabindex: "-1", id: "page-title" }, ctx.t("alerts.title")),
      await alertsSection(ctx, r.groupId, g?.name ?? ""),
      h("p", {}, h("a", { href: "#" }, ctx.t("page.back"))),
    );
    return;
  }
  return renderMine(ctx, profile);
}

async function showForm(ctx: PageContext, id: number): Promise<void> {
  try {
    const form = await ctx.forms.form(id, ctx.locale);
    new FormPage(ctx, form).render();
  } catch (e) {
    const code = e instanceof CircleError ? e.code : "error";
    message(ctx, code === "unauthenticated" ? ctx.t("signin.needed") : e instanceof Error ? e.message : ctx.t("error.generic"), code === "unauthenticated");
  }
}

async function start(): Promise<void> {
  const api = new Api(fetch.bind(window), () => readCookie(document.cookie, "circle_csrf"));
  const forms = new FormsApi(api, storedAccess);
  const profile = await me(api);
  const locale = chooseLocale(params.get("lang"), profile?.locale ?? null, navigator.languages);
  const content = frame(locale);
  const ctx = makeContext(locale, api, forms, content, (hash) => {
    location.hash = hash;
  });
  document.title = `${ctx.t("page.title")} · Healers' Circle`;
  await route(ctx, profile);
  (content.querySelector<HTMLElement>("#page-title") ?? content).focus();
  window.addEventListener("hashchange", () => {
    void route(ctx, profile).then(() => (content.querySelector<HTMLElement>("#page-title") ?? content).focus());
  });
}

void start();
