// The attendance and scores page (/app/attendance.html?series=<id>). Leaders see their group's
// series and coordinators their organisation's: the grid, the chart, the group's score and
// level with its breakdown, each member's level, and a CSV export. A member sees only their own
// row and score (the server sends nothing else to them).

import "../ui/styles.css";
import "./attendance.css";
import { I18n, LOCALES, LOCALE_NAMES, chooseLocale, isLocale, validTimeZone } from "../i18n";
import { CircleError } from "../protocol/types";
import { h, type Child } from "../ui/dom";
import { attendanceApi, type Report, type Scores } from "./api";
import { type T, chart, grid, levels, percent, scoreCard, translator } from "./views";

class AttendancePage {
  private readonly params = new URLSearchParams(location.search);
  private profile: { locale: string | null; timezone: string | null } = { locale: null, timezone: null };
  private i18n = this.makeI18n();
  private me = 0;
  private data: { report: Report; scores: Scores } | null = null;

  constructor(private readonly root: HTMLElement) {}

  private get t(): T {
    return translator(this.i18n);
  }

  private makeI18n(): I18n {
    const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    const zone = validTimeZone(this.profile.timezone) ? this.profile.timezone : browserZone;
    return new I18n(chooseLocale(this.params.get("lang"), this.profile.locale, navigator.languages ?? []), zone);
  }

  private applyLocale(): void {
    document.documentElement.lang = this.i18n.locale;
    document.documentElement.dir = this.i18n.dir;
    document.title = `${this.i18n.t("app.name")}: ${this.t("title")}`;
  }

  private languageMenu(): HTMLElement {
    const select = h(
      "select",
      { "aria-label": this.t("language") },
      ...LOCALES.map((l) => h("option", { value: l, lang: l, selected: l === this.i18n.locale, text: LOCALE_NAMES[l] })),
    );
    select.addEventListener("change", () => {
      if (!isLocale(select.value)) return;
      this.params.set("lang", select.value);
      history.replaceState(null, "", `?${this.params.toString()}`);
      this.i18n = this.makeI18n();
      this.applyLocale();
      this.render();
    });
    return h("label", { class: "lang" }, select);
  }

  private fail(e: unknown): void {
    const text = e instanceof CircleError ? e.message : e instanceof Error ? e.message : String(e);
    this.show([h("p", { role: "alert", text })]);
  }

  private show(children: Child[], heading = this.t("title")): void {
    const back = h("a", { href: "/app/?list=1", class: "link", text: this.t("back") });
    this.root.replaceChildren(
      h("header", { class: "att-header" }, h("h1", { text: heading }), h("nav", {}, back), this.languageMenu()),
      ...children.filter((c): c is Node | string => !!c),
    );
  }

  async start(): Promise<void> {
    this.applyLocale();
    const series = Number(this.params.get("series"));
    if (!Number.isInteger(series) || series <= 0) return this.show([h("p", { role: "alert", text: this.t("noSeries") })]);
    try {
      await attendanceApi.prime();
      const me = await attendanceApi.me();
      this.me = me.id;
      this.profile = { locale: me.locale, timezone: me.timezone };
      this.i18n = this.makeI18n();
      this.applyLocale();
      const [report, scores] = await Promise.all([attendanceApi.report(series), attendanceApi.scores(series)]);
      this.data = { report, scores };
    } catch (e) {
      if (e instanceof CircleError && e.status === 401) {
        location.href = `/app/?next=${encodeURIComponent(location.pathname + location.search)}`;
        return;
      }
      return this.fail(e);
    }
    this.render();
  }

  private render(): void {
    if (this.data === null) return;
    const { report, scores } = this.data;
    const t = this.t;
    const own = report.members.length === 1 && report.members[0]?.person_id === this.me && report.members[0]?.role === "member";
    const reg = report.regularity;
    const summary = h(
      "p",
      { class: "muted", "data-testid": "regularity" },
      t("regularity", {
        held: this.i18n.number(reg.held_as_booked),
        due: this.i18n.number(reg.due),
        moved: this.i18n.number(reg.moved),
        cancelled: this.i18n.number(reg.cancelled),
      }),
    );
    if (own) {
      const mine = scores.members.find((m) => m.person_id === this.me);
      this.show(
        [
          h("p", { class: "muted", text: report.title }),
          h("section", { class: "card" }, grid(this.i18n, t, report, report.members)),
          mine ? scoreCard(this.i18n, t, mine, t("myScore"), "my-score") : null,
          scoreCard(this.i18n, t, scores.group, t("groupScore"), "group-score"),
        ],
        t("mine"),
      );
      return;
    }
    const csv = h("a", {
      href: attendanceApi.csvUrl(report.series_id),
      download: `attendance-series-${report.series_id}.csv`,
      class: "btn",
      "data-testid": "csv",
      text: t("csv"),
    });
    const rate = report.members.length
      ? percent(this.i18n, report.members.reduce((a, m) => a + (m.attendance_rate ?? 0), 0) / report.members.length)
      : "—";
    this.show([
      h("p", { class: "muted" }, h("span", { text: `${report.title} · ${t("rate")}: ${rate}` }), " ", csv),
      summary,
      h("section", { class: "card" }, grid(this.i18n, t, report, report.members)),
      chart(this.i18n, t, report),
      scoreCard(this.i18n, t, scores.group, t("groupScore"), "group-score"),
      levels(this.i18n, t, scores.members),
    ]);
  }
}

const root = document.getElementById("attendance");
if (root) void new AttendancePage(root).start();
