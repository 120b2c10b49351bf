import { describe, expect, it } from "vitest";
import { parseRoute } from "../src/pathways/api";
import { en, fa, nl } from "../src/i18n/parts/pathways";

describe("pathways page routes", () => {
  it("reads the offer, message and report addresses", () => {
    expect(parseRoute("#offer=12")).toEqual({ kind: "offer", id: 12 });
    expect(parseRoute("#message=3")).toEqual({ kind: "message", groupId: 3 });
    expect(parseRoute("#report=7")).toEqual({ kind: "report", sessionId: 7 });
  });

  it("refuses anything else", () => {
    for (const bad of ["", "#offer=", "#offer=0", "#offer=-1", "#offer=1x", "#other=1", "#offer=1234567890123456789"]) {
      expect(parseRoute(bad)).toEqual({ kind: "none" });
    }
  });

  it("has every string in Persian and Dutch, and real translations", () => {
    for (const key of Object.keys(en) as (keyof typeof en)[]) {
      expect(fa[key]).toBeTruthy();
      expect(nl[key]).toBeTruthy();
      if (key !== "pathways.page.title") expect(fa[key]).not.toEqual(en[key]);
    }
  });
});
