// The pathways page (/app/pathways.html): the peer-support offer (#offer=<id>: "I'd like a
// conversation" with consent to be contacted, or decline with an optional reason), a message to
// the group's leaders (#message=<group id>) and the self-help host's meeting report
// (#report=<session id>). The REST calls are in ./api.ts; this module is the UI on top.

import "./pathways.css";
import { Api, readCookie } from "../protocol/api";
import { I18n, LOCALES, LOCALE_NAMES, chooseLocale, type MessageKey } from "../i18n";
import { CircleError, type Locale, type Me } from "../protocol/types";
import { h } from "../ui/dom";
import { DECLINE_REASONS, type Offer, PathwaysApi, parseRoute } from "./api";

const params = new URLSearchParams(location.search);

interface Page {
  readonly i18n: I18n;
  readonly calls: PathwaysApi;
  readonly content: HTMLElement;
  t(key: MessageKey, p?: Readonly<Record<string, string | number>>): string;
}

function frame(i18n: I18n): HTMLElement {
  document.documentElement.lang = i18n.locale;
  document.documentElement.dir = i18n.dir;
  document.title = `Healers' Circle: ${i18n.t("pathways.page.title")}`;
  const select = h(
    "select",
    { id: "p-lang" },
    ...LOCALES.map((l) => h("option", { value: l, selected: l === i18n.locale, lang: l }, LOCALE_NAMES[l])),
  );
  select.addEventListener("change", () => {
    params.set("lang", select.value);
    location.search = params.toString();
  });
  const content = h("main", { id: "content", tabindex: "-1" });
  document.getElementById("p-root")?.replaceChildren(
    h(
      "header",
      { class: "p-header" },
      h("a", { href: "/app/", class: "p-brand" }, "Healers' Circle"),
      h("span", {}, h("label", { for: "p-lang", class: "p-inline" }, i18n.t("pathways.page.language")), " ", select),
    ),
    content,
  );
  return content;
}

function status(id: string): HTMLElement {
  return h("p", { id, role: "status", "aria-live": "polite" });
}

function failed(page: Page, el: HTMLElement, e: unknown): void {
  el.className = "p-error";
  el.textContent = e instanceof CircleError && e.message ? e.message : page.t("pathways.page.error");
}

// -- the offer ---------------------------------------------------------------------------------

function offerState(page: Page, offer: Offer): string | null {
  switch (offer.status) {
    case "offered":
      return null;
    case "accepted":
      return page.t("pathways.offer.accepted");
    case "declined":
      return page.t("pathways.offer.declined");
    case "proposed":
      return page.t("pathways.offer.proposed");
    case "matched":
      return page.t("pathways.offer.matched", {
        name: offer.peer_name ?? "",
        count: offer.conversations,
        max: offer.max_conversations,
      });
    case "closed":
      return page.t("pathways.offer.closed");
  }
}

function renderOffer(page: Page, offer: Offer): void {
  const title = h("h1", { id: "page-title", tabindex: "-1" }, page.t("pathways.offer.heading"));
  const said = offerState(page, offer);
  if (said !== null) {
    page.content.replaceChildren(title, h("p", { class: "p-done", "data-testid": "offer-state" }, said));
    return;
  }
  const consent = h("input", { type: "checkbox", id: "offer-consent" });
  const acceptMsg = status("offer-accept-msg");
  const accept = h("button", { type: "submit", "data-testid": "offer-accept" }, page.t("pathways.offer.accept"));
  const acceptForm = h(
    "form",
    { class: "p-card", "data-testid": "offer-accept-form" },
    h("div", { class: "p-check" }, consent, h("label", { for: "offer-consent" }, page.t("pathways.offer.consent"))),
    accept,
    acceptMsg,
  );
  acceptForm.addEventListener("submit", (e) => {
    e.preventDefault();
    if (!consent.checked) {
      acceptMsg.className = "p-error";
      acceptMsg.textContent = page.t("pathways.offer.consent_needed");
      consent.focus();
      return;
    }
    void page.calls
      .answer(offer.id, { accept: true, consent_contact: true })
      .then((o) => renderOffer(page, o))
      .catch((err: unknown) => failed(page, acceptMsg, err));
  });

  const reason = h(
    "select",
    { id: "offer-reason" },
    h("option", { value: "" }, page.t("pathways.reason.none")),
    ...DECLINE_REASONS.map((r) => h("option", { value: r }, page.t(`pathways.reason.${r}` as MessageKey))),
  );
  const note = h("textarea", { id: "offer-note", maxlength: "500" });
  const declineMsg = status("offer-decline-msg");
  const declineForm = h(
    "form",
    { class: "p-card", "data-testid": "offer-decline-form" },
    h("h2", {}, page.t("pathways.offer.decline_heading")),
    h("label", { for: "offer-reason" }, page.t("pathways.offer.reason")),
    reason,
    h("label", { for: "offer-note" }, page.t("pathways.offer.note")),
    note,
    h("button", { type: "submit", class: "p-secondary", "data-testid": "offer-decline" }, page.t("pathways.offer.decline")),
    declineMsg,
  );
  declineForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const chosen = DECLINE_REASONS.find((r) => r === reason.value);
    const text = note.value.trim();
    void page.calls
      .answer(offer.id, { accept: false, ...(chosen ? { reason: chosen } : {}), ...(text ? { note: text } : {}) })
      .then((o) => renderOffer(page, o))
      .catch((err: unknown) => failed(page, declineMsg, err));
  });
  page.content.replaceChildren(
    title,
    h("p", { "data-testid": "offer-body" }, page.t("pathways.offer.body")),
    acceptForm,
    declineForm,
  );
}

// -- message to the leaders --------------------------------------------------------------------

function renderMessage(page: Page, groupId: number): void {
  const text = h("textarea", { id: "msg-body", maxlength: "2000", required: true });
  const msg = status("msg-status");
  const form = h(
    "form",
    { class: "p-card", "data-testid": "message-form" },
    h("p", { class: "p-muted" }, page.t("pathways.message.hint")),
    h("label", { for: "msg-body" }, page.t("pathways.message.label")),
    text,
    h("button", { type: "submit" }, page.t("pathways.message.send")),
    msg,
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void page.calls
      .sendToLeaders(groupId, text.value)
      .then(() => {
        text.value = "";
        msg.className = "p-done";
        msg.textContent = page.t("pathways.message.sent");
      })
      .catch((err: unknown) => failed(page, msg, err));
  });
  page.content.replaceChildren(h("h1", { id: "page-title", tabindex: "-1" }, page.t("pathways.message.heading")), form);
}

// -- the meeting report -------------------------------------------------------------------------

async function renderReport(page: Page, sessionId: number): Promise<void> {
  const members = (await page.calls.reportMembers(sessionId)).filter((m) => m.role === "member");
  const covered = h("textarea", { id: "report-covered", maxlength: "1000", required: true });
  const boxes = members.map((m) => ({
    id: m.person_id,
    box: h("input", { type: "checkbox", id: `report-p${m.person_id}`, value: String(m.person_id) }),
    name: m.display_name,
  }));
  const noCase = h("input", { type: "checkbox", id: "report-no-case", required: true });
  const msg = status("report-status");
  const form = h(
    "form",
    { class: "p-card", "data-testid": "report-form" },
    h("p", { class: "p-muted" }, page.t("pathways.report.hint")),
    h("label", { for: "report-covered" }, page.t("pathways.report.covered")),
    covered,
    h(
      "fieldset",
      {},
      h("legend", {}, page.t("pathways.report.attendance")),
      ...boxes.map((b) => h("div", { class: "p-check" }, b.box, h("label", { for: b.box.id }, b.name))),
    ),
    h("div", { class: "p-check" }, noCase, h("label", { for: "report-no-case" }, page.t("pathways.report.no_case_details"))),
    h("button", { type: "submit" }, page.t("pathways.report.send")),
    msg,
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const present = boxes.filter((b) => b.box.checked).map((b) => b.id);
    void page.calls
      .fileReport(sessionId, covered.value, present)
      .then(() => {
        form.replaceChildren(h("p", { class: "p-done", role: "status" }, page.t("pathways.report.sent")));
      })
      .catch((err: unknown) => failed(page, msg, err));
  });
  page.content.replaceChildren(h("h1", { id: "page-title", tabindex: "-1" }, page.t("pathways.report.heading")), form);
}

// -- start ----------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const api = new Api(fetch.bind(window), () => readCookie(document.cookie, "circle_csrf"));
  let me: Me | null = null;
  try {
    me = await api.me();
  } catch {
    me = null;
  }
  const locale: Locale = chooseLocale(params.get("lang"), me?.locale ?? null, navigator.languages);
  const i18n = new I18n(locale, me?.timezone ?? "UTC");
  const content = frame(i18n);
  const page: Page = { i18n, calls: new PathwaysApi(api), content, t: (k, p) => i18n.t(k, p) };
  if (me === null) {
    content.replaceChildren(
      h("h1", { id: "page-title" }, i18n.t("pathways.page.title")),
      h("p", { "data-testid": "page-message" }, i18n.t("pathways.page.signin")),
      h("p", {}, h("a", { href: "/app/" }, i18n.t("pathways.page.signin_link"))),
    );
    return;
  }
  const route = parseRoute(location.hash);
  try {
    if (route.kind === "offer") renderOffer(page, await page.calls.offer(route.id));
    else if (route.kind === "message") renderMessage(page, route.groupId);
    else if (route.kind === "report") await renderReport(page, route.sessionId);
    else content.replaceChildren(h("h1", { id: "page-title" }, i18n.t("pathways.page.title")), h("p", {}, i18n.t("pathways.page.unknown")));
  } catch (e) {
    const missing = e instanceof CircleError && e.code === "not_found" && route.kind === "offer";
    content.replaceChildren(
      h("h1", { id: "page-title" }, i18n.t("pathways.page.title")),
      h("p", { class: "p-error", "data-testid": "page-message" }, missing ? i18n.t("pathways.offer.missing") : i18n.t("pathways.page.error")),
    );
  }
}

window.addEventListener("hashchange", () => location.reload());
void main();
