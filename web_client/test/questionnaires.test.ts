import { describe, expect, it } from "vitest";
import {
  type Form,
  FormsApi,
  bandIntervals,
  bandOf,
  missingItems,
  parseRoute,
  progress,
  refusedFields,
  withAnswer,
} from "../src/questionnaires/forms-api";
import { Api } from "../src/protocol/api";
import { CircleError } from "../src/protocol/types";
import { CATALOGUE_KEYS, catalogues, qt } from "../src/questionnaires/messages";
import { distribution, measures, pairedLines, reportQuery } from "../src/outcomes/report";

function form(): Form {
  return {
    id: 7,
    series_id: 1,
    series_title: "Balint",
    group_name: "A",
    timepoint: "pre",
    state: "open",
    opens_at: null,
    closes_at: null,
    instruments: ["phq9"],
    answered: 0,
    required: 2,
    parts: [
      {
        id: "phq9",
        version: "1",
        title: "PHQ-9",
        title_lang: "en",
        instructions: null,
        instructions_lang: null,
        items: [
          { id: "item_1", text: "a", lang: "en", type: "scale", required: true, choices: [] },
          { id: "item_2", text: "b", lang: "en", type: "scale", required: true, choices: [] },
          { id: "note", text: "c", lang: "en", type: "text", required: false, choices: [] },
        ],
        answers: {},
      },
    ],
  };
}

describe("questionnaire routes", () => {
  it("reads a mailed link, a form, alerts, and falls back to the list", () => {
    expect(parseRoute("#form=abcdefghij.KLMNOP-_")).toEqual({ kind: "link", token: "abcdefghij.KLMNOP-_" });
    expect(parseRoute("#f=12")).toEqual({ kind: "form", id: 12 });
    expect(parseRoute("#alerts=3")).toEqual({ kind: "alerts", groupId: 3 });
    expect(parseRoute("#f=0")).toEqual({ kind: "mine" });
    expect(parseRoute("#form=<script>")).toEqual({ kind: "mine" });
    expect(parseRoute("")).toEqual({ kind: "mine" });
  });
});

describe("form rules", () => {
  it("counts required answers and names the missing ones in order", () => {
    let f = form();
    expect(progress(f)).toEqual({ answered: 0, required: 2 });
    expect(missingItems(f)).toEqual(["phq9.item_1", "phq9.item_2"]);
    f = withAnswer(f, "phq9", "item_2", 3);
    expect(missingItems(f)).toEqual(["phq9.item_1"]);
    f = withAnswer(f, "phq9", "item_1", 0);
    expect(progress(f)).toEqual({ answered: 2, required: 2 });
    expect(missingItems(withAnswer(f, "phq9", "item_1", null))).toEqual(["phq9.item_1"]);
  });

  it("places a score in its band and closes the last band at the range's top", () => {
    const bands = [
      { start: 0, label: "minimal" },
      { start: 5, label: "mild" },
      { start: 10, label: "moderate" },
    ];
    expect(bandOf(bands, 4.5)?.label).toBe("minimal");
    expect(bandOf(bands, 5)?.label).toBe("mild");
    expect(bandOf(bands, 27)?.label).toBe("moderate");
    expect(bandIntervals(bands, [0, 27]).at(-1)).toEqual({ from: 10, to: 27, label: "moderate" });
  });
});

describe("FormsApi", () => {
  it("sends the form access header and the CSRF header, and keeps the named fields of a refusal", async () => {
    const seen: { path: string; headers: Record<string, string> }[] = [];
    const api = new FormsApi(
      new Api(async (path, init) => {
        seen.push({ path, headers: init?.headers ?? {} });
        return {
          ok: false,
          status: 400,
          json: async () => ({ error: { code: "invalid", message: "phq9.item_9: 7 is not one of 0, 1, 2, 3", details: { fields: { "phq9.item_9": "7 is not one of 0, 1, 2, 3" } } } }),
        };
      }, () => "csrf-1"),
      (id) => (id === 7 ? "access-7" : null),
    );
    const err = await api.answer(7, "phq9", "item_9", 7).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CircleError);
    expect(refusedFields(err)).toEqual({ "phq9.item_9": "7 is not one of 0, 1, 2, 3" });
    expect(seen[0]?.path).toBe("/api/forms/7/answers");
    expect(seen[0]?.headers["X-Form-Access"]).toBe("access-7");
    expect(seen[0]?.headers["X-CSRF-Token"]).toBe("csrf-1");
  });
});

describe("questionnaire messages", () => {
  it("carries every key in fa and nl and fills placeholders with the locale's digits", () => {
    for (const locale of ["fa", "nl"] as const) {
      for (const key of CATALOGUE_KEYS) expect(catalogues[locale][key], `${locale} ${key}`).toBeTruthy();
    }
    expect(qt("en", "form.progress", { answered: 3, required: 14 })).toBe("3 of 14 answered");
    expect(qt("fa", "form.progress", { answered: 3, required: 14 })).toBe("۳ از ۱۴ پاسخ داده شده");
  });
});

describe("outcome report shaping", () => {
  const points = [
    { instrument: "cdas", score: "total", person_code: "HC-A", pre: 30, post: 10, followup: null },
    { instrument: "cdas", score: "total", person_code: "HC-B", pre: 25, post: null, followup: null },
    { instrument: "cdas", score: "somatic", person_code: "HC-A", pre: 9, post: 3, followup: null },
  ];
  it("draws a line only for members with both pre and post", () => {
    expect(pairedLines(points, "cdas", "total")).toEqual([
      { code: "HC-A", timepoint: "pre", value: 30 },
      { code: "HC-A", timepoint: "post", value: 10 },
    ]);
  });
  it("keeps every observed value for the distributions", () => {
    expect(distribution(points, "cdas", "total").map((d) => d.value)).toEqual([30, 10, 25]);
    expect(measures(points)).toEqual([
      { instrument: "cdas", score: "total" },
      { instrument: "cdas", score: "somatic" },
    ]);
    expect(reportQuery({ kind: "series", id: 4, protocol: "balint" }, { points: "true" })).toBe("series=4&points=true&protocol=balint");
  });
});
