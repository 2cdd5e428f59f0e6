import type { Diagnostic } from "./diagnostic";

/** The marker lib/import writes wherever an import guessed; a data file holding one is not reviewed yet. */
export const IMPORT_TODO = "TODO(import)";

/**
 * Each `# TODO(import): …` comment left in a data file: an error until a volunteer has
 * checked the guess and removed the comment (issue 19). Found in the text, on comment lines
 * and after a value: a quoted value holding the marker after a `#` is refused too, which errs
 * on the side of one more look.
 */
export function importTodos(file: string, text: string): Diagnostic[] {
  const out: Diagnostic[] = [];
  // Every match holds the marker itself: a file without it (nearly all) is not split into lines.
  if (!text.includes(IMPORT_TODO)) return out;
  text.split("\n").forEach((line, i) => {
    const m = /(^|\s)#.*?TODO\(import\)/.exec(line);
    if (!m) return;
    const col = line.indexOf(IMPORT_TODO, m.index) + 1;
    const what = line.slice(col - 1 + IMPORT_TODO.length).replace(/^:\s*/, "").trim().slice(0, 160);
    out.push({
      file,
      line: i + 1,
      col,
      field: "",
      message: `still has an import guess to check: "${what}" (check it, change the data if needed, then delete this comment)`,
      fr: `contient encore une supposition de l'import à vérifier : « ${what} » (vérifiez-la, corrigez les données s'il le faut, puis supprimez ce commentaire)`,
    });
  });
  return out;
}
