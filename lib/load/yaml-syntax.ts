import type { LineCounter, YAMLError } from "yaml";
import type { Diagnostic } from "./diagnostic";

/**
 * The parser's errors in words a volunteer can act on, at the place to edit. The `yaml`
 * library reports an unclosed `[`, `{` or quote where it gave up (often the next line,
 * column 1); the opening character is what must be fixed, so the position moves back to it.
 * Each message says what is wrong and how to fix it, in English and French (the loader adds
 * the source line and a caret).
 */
export function yamlErrorDiagnostic(file: string, text: string, e: YAMLError, lines: LineCounter): Diagnostic {
  const { offset, en, fr } = explain(text, e);
  const p = lines.linePos(offset);
  const syntax = e.code !== "DUPLICATE_KEY" && e.code !== "MULTIPLE_DOCS";
  return { file, line: p.line, col: p.col, field: "", message: syntax ? `YAML syntax error: ${en}` : en, fr: syntax ? `erreur de syntaxe YAML : ${fr}` : fr };
}

interface Explained {
  offset: number;
  en: string;
  fr: string;
}

function explain(text: string, e: YAMLError): Explained {
  const at = e.pos[0];
  const raw = (e.message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, "");
  switch (e.code) {
    case "DUPLICATE_KEY":
      return { offset: at, en: "duplicate key (each key may appear once in a mapping; remove or merge the repeated one)", fr: "clé en double (une clé n'apparaît qu'une fois par bloc ; supprimez ou fusionnez la répétition)" };
    case "MULTIPLE_DOCS":
      return { offset: at, en: "several YAML documents in one file (keep one document per file; remove the `---` separator)", fr: "plusieurs documents YAML dans un seul fichier (gardez un seul document par fichier ; supprimez le séparateur `---`)" };
    case "TAB_AS_INDENT":
      return { offset: at, en: "indented with a tab (YAML indents with spaces only: replace the tab with spaces)", fr: "indentation avec une tabulation (YAML n'indente qu'avec des espaces : remplacez la tabulation par des espaces)" };
    case "BAD_SCALAR_START": {
      const c = text[at] ?? "";
      return { offset: at, en: `a value cannot start with ${c} (put the value in quotes: "${c}…")`, fr: `une valeur ne peut pas commencer par ${c} (mettez la valeur entre guillemets : "${c}…")` };
    }
    case "MISSING_CHAR":
      if (/^Implicit map keys need to be followed by map values/.test(raw)) {
        return noSpaceAfterColon(text, at) ?? { offset: at, en: "this line is not a key: value line (write key: value, or start a list item with - )", fr: "cette ligne n'est pas de la forme clé: valeur (écrivez clé: valeur, ou commencez un élément de liste par - )" };
      }
      if (/^Sequence item without - indicator/.test(raw)) {
        return { offset: at, en: 'this line is inside a list but is not an item (start it with "- ", a dash and a space, aligned with the other items)', fr: 'cette ligne est dans une liste mais n\'en est pas un élément (commencez-la par "- ", un tiret et une espace, alignée sur les autres éléments)' };
      }
      if (/quote/i.test(raw)) {
        const q = /'/.test(raw) ? "'" : '"';
        return { offset: opening(text, at, q), en: `this quoted text is never closed (add the closing ${q} at the end of the value, on the same line)`, fr: `ce texte entre guillemets n'est jamais fermé (ajoutez le ${q} fermant à la fin de la valeur, sur la même ligne)` };
      }
      break;
    case "BAD_INDENT":
      if (/^Flow (sequence|map)/.test(raw)) {
        const [o, c] = raw.startsWith("Flow map") ? ["{", "}"] : ["[", "]"];
        return {
          offset: unclosed(text, at, o, c),
          en: `this ${o} is never closed (close it with ${c}; a ${o === "[" ? "list" : "mapping"} written on several lines needs its closing ${c} and each following line indented)`,
          fr: `ce ${o} n'est jamais fermé (fermez-le avec ${c} ; ${o === "[" ? "une liste écrite" : "un bloc écrit"} sur plusieurs lignes doit avoir son ${c} fermant et chaque ligne suivante indentée)`,
        };
      }
      return { offset: at, en: "is not indented like the lines around it (the items of a list start at the same column with -, the keys of a mapping at the same column)", fr: "n'est pas indenté comme les lignes voisines (les éléments d'une liste commencent à la même colonne par -, les clés d'un bloc à la même colonne)" };
    case "BLOCK_AS_IMPLICIT_KEY":
    case "MULTILINE_IMPLICIT_KEY": {
      const eol = text.indexOf("\n", at);
      const rest = text.slice(at, eol < 0 ? undefined : eol);
      const colon = e.code === "MULTILINE_IMPLICIT_KEY" ? noSpaceAfterColon(text, at) : undefined;
      if (colon) return colon;
      if (e.code === "BLOCK_AS_IMPLICIT_KEY" && /: /.test(rest)) {
        return { offset: at, en: 'this value contains ": " (a colon and a space), which YAML reads as a new key (put the whole value in quotes: "…")', fr: 'cette valeur contient « : » (deux-points suivis d\'une espace), que YAML lit comme une nouvelle clé (mettez toute la valeur entre guillemets : "…")' };
      }
      // A value followed by a line indented deeper: that line is what to fix.
      const next = eol < 0 ? at : nextContent(text, eol + 1);
      return { offset: next, en: "this line is indented more than the key above it (align it with the other keys; a value written on several lines must be quoted)", fr: "cette ligne est plus indentée que la clé au-dessus (alignez-la sur les autres clés ; une valeur écrite sur plusieurs lignes doit être entre guillemets)" };
    }
    case "BLOCK_IN_FLOW": {
      // "email: a@b.example backup_email: c@d.example": the key after the missing comma.
      const span = text.slice(at, e.pos[1]);
      const colon = span.indexOf(": ");
      const key = colon > 0 ? span.lastIndexOf(" ", colon) + 1 : 0;
      return { offset: at + key, en: 'a comma is missing before this key inside { … } or [ … ] (separate the entries with ", ")', fr: 'il manque une virgule avant cette clé, à l\'intérieur de { … } ou [ … ] (séparez les éléments par ", ")' };
    }
    case "UNEXPECTED_TOKEN":
      if (/^Unexpected scalar at node end/.test(raw) && /["']/.test(text[at - 1] ?? "")) {
        return { offset: at, en: "text after the end of a quoted value (a quote inside a quoted value ends it: quote the value with the other kind of quote, like 'a \"b\" c', or remove the inner quotes)", fr: "du texte après la fin d'une valeur entre guillemets (un guillemet à l'intérieur termine la valeur : entourez-la de l'autre sorte de guillemets, comme 'a \"b\" c', ou retirez les guillemets intérieurs)" };
      }
      if (/flow-(seq|map)-end/.test(raw)) {
        const c = text[at] ?? "]";
        return { offset: at, en: `this ${c} closes nothing (remove it, or add the matching ${c === "]" ? "[" : "{"} before)`, fr: `ce ${c} ne ferme rien (supprimez-le, ou ajoutez le ${c === "]" ? "[" : "{"} correspondant avant)` };
      }
      break;
    default:
      break;
  }
  return { offset: at, en: `${raw} (fix the syntax here; check indentation and quoting)`, fr: `${raw} (corrigez la syntaxe ici ; vérifiez l'indentation et les guillemets)` };
}

/** `name:velo` read as one word: a key whose colon has no space after it. */
function noSpaceAfterColon(text: string, at: number): Explained | undefined {
  const eol = text.indexOf("\n", at);
  const m = /^(\s*(?:- )?)([^\s:#'"{}[\],]+):(?=[^\s])/.exec(text.slice(at, eol < 0 ? undefined : eol));
  if (!m) return undefined;
  const key = m[2] as string;
  return {
    offset: at + (m[1] as string).length + key.length + 1,
    en: `"${key}:" needs a space after the colon, or YAML reads the whole line as one word (write "${key}: …")`,
    fr: `« ${key}: » doit être suivi d'une espace après les deux-points, sinon YAML lit toute la ligne comme un seul mot (écrivez "${key}: …")`,
  };
}

/** The first non-blank character from `from` on (skipping blank lines). */
function nextContent(text: string, from: number): number {
  const m = /[^\s]/.exec(text.slice(from));
  return m ? from + m.index : from;
}

/** The opening quote of a quoted value left open: the last unescaped `q` before `at`. */
function opening(text: string, at: number, q: string): number {
  for (let i = Math.min(at, text.length) - 1; i >= 0; i--) {
    if (text[i] === q && !(q === '"' && text[i - 1] === "\\")) return i;
  }
  return at;
}

/** The `open` bracket left unclosed before `at` (brackets inside quotes are not told apart). */
function unclosed(text: string, at: number, open: string, close: string): number {
  let depth = 0;
  for (let i = Math.min(at, text.length) - 1; i >= 0; i--) {
    if (text[i] === close) depth++;
    else if (text[i] === open) {
      if (depth === 0) return i;
      depth--;
    }
  }
  return at;
}
