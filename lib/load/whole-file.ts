import { isMap } from "yaml";
import type { Diagnostic } from "./diagnostic";
import { excerptAt } from "./text-file";
import { locate, type YamlFile } from "./yaml-file";

/** Where a volunteer finds the fields of each kind of data file. */
function guideFor(file: string): string {
  if (file.startsWith("zones/")) return "zones/README.md";
  if (file.startsWith("members/")) return "members/README.md";
  return "docs/architecture.md";
}

/**
 * A data file's top level must be a mapping (key: value lines). An empty file or one holding
 * only comments has no line to point at; a list or a lone value does: its first line.
 */
export function topLevelProblem(yf: YamlFile, text: string): Diagnostic | undefined {
  const guide = guideFor(yf.file);
  if (yf.data === null || yf.data === undefined) {
    return {
      file: yf.file, line: 0, col: 0, field: "",
      message: `is empty: it holds no data, only blank lines or comments (write its fields, as in the examples of ${guide}, or delete the file)`,
      fr: `est vide : il ne contient aucune donnée, seulement des lignes blanches ou des commentaires (écrivez ses champs, comme dans les exemples de ${guide}, ou supprimez le fichier)`,
    };
  }
  if (isMap(yf.doc.contents)) return undefined;
  const what = Array.isArray(yf.data) ? { en: "a list (lines starting with -)", fr: "une liste (lignes commençant par -)" } : { en: `a single value (${typeof yf.data})`, fr: `une valeur seule (${typeof yf.data})` };
  const p = locate(yf, []);
  return {
    file: yf.file, line: p.line, col: p.col, field: "",
    message: `must be a mapping of key: value lines at the top, not ${what.en} (start from the examples of ${guide})`,
    fr: `doit être un bloc de lignes clé: valeur au premier niveau, pas ${what.fr} (partez des exemples de ${guide})`,
    excerpt: excerptAt(text, p.line, p.col),
  };
}
