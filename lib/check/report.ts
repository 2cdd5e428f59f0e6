import { formatPath, type Diagnostic } from "../load/diagnostic";
import { locate, type YamlFile } from "../load/yaml-file";
import type { Bilingual } from "../i18n/lang";

/** Collects cross-file diagnostics, each pointing at a field of a file. */
export class Report {
  readonly errors: Diagnostic[] = [];

  /** A Bilingual message carries its French; a plain string is English only. */
  at(src: YamlFile, path: ReadonlyArray<string | number>, message: string | Bilingual): void {
    const p = locate(src, path);
    const text = typeof message === "string" ? { message } : { message: message.en, fr: message.fr };
    this.errors.push({ file: src.file, line: p.line, col: p.col, field: formatPath(path), ...text });
  }

  /** "members/velo-libre/member.yaml:9 sites[0].host" — how a message refers to another place. */
  static where(src: YamlFile, path: ReadonlyArray<string | number>): string {
    const p = locate(src, path);
    return `${src.file}:${p.line} ${formatPath(path)}`;
  }
}
