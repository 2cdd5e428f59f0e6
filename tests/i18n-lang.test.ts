import { describe, expect, it } from "vitest";
import { say, volunteerLang } from "../lib/i18n/lang";
import { formatDiagnostic } from "../lib/load/diagnostic";

describe("the volunteer's language", () => {
  it.each([
    [{ GLOBENET_LANG: "fr" }, "fr"],
    [{ GLOBENET_LANG: "FR_fr" }, "fr"],
    [{ GLOBENET_LANG: "en", LANG: "fr_FR.UTF-8" }, "en"],
    [{ LANG: "fr_FR.UTF-8" }, "fr"],
    [{ LC_ALL: "fr_BE", LANG: "en_US.UTF-8" }, "fr"],
    [{ LC_MESSAGES: "fr", LANG: "C" }, "fr"],
    [{ LANG: "C.UTF-8" }, "en"],
    [{ LANG: "fry_NL" }, "en"],
    [{}, "en"],
  ])("%j → %s", (env, want) => {
    expect(volunteerLang(env)).toBe(want);
  });

  it("a bilingual text is shown in the chosen language; plain text as is", () => {
    const t = { en: "is not valid", fr: "n'est pas valide" };
    expect(say(t, "fr")).toBe("n'est pas valide");
    expect(say(t, "en")).toBe("is not valid");
    expect(say("English only", "fr")).toBe("English only");
  });

  it("a diagnostic is English unless French is asked for and written", () => {
    const d = { file: "members/a/member.yaml", line: 3, col: 5, field: "handle", message: "is taken", fr: "est déjà pris" };
    expect(formatDiagnostic(d)).toBe("members/a/member.yaml:3:5 handle: is taken");
    expect(formatDiagnostic(d, "fr")).toBe("members/a/member.yaml:3:5 handle: est déjà pris");
    expect(formatDiagnostic({ ...d, fr: undefined }, "fr")).toBe("members/a/member.yaml:3:5 handle: is taken");
  });
});
