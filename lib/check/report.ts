import { formatPath, type Diagnostic } from "../load/diagnostic";
import { locate, type YamlFile } from "../load/yaml-file";
import type { Bilingual } from "../i18n/lang";

/** A place a value is written: a field of a file. */
export interface Place {
  src: YamlFile;
  path: ReadonlyArray<string | number>;
}

/** Collects cross-file diagnostics, each pointing at a field of a file. */
export class Report {
  readonly errors: Diagnostic[] = [];
  /** What validate prints without refusing the data (a missing PTR by default). */
  readonly warnings: Diagnostic[] = [];

  /**
   * @param changed data files changed against the base (git), when known: a value claimed
   * twice is blamed on the file that changed, not on the untouched file that had it first.
   */
  constructor(readonly changed?: ReadonlySet<string>) {}

  /**
   * Reports a value claimed at two places, at the one to edit: the later one, unless only the
   * earlier one's file changed against the base. `message` gets the other place.
   */
  duplicate<P extends Place>(first: P, second: P, message: (other: P) => string | Bilingual): void {
    const swap = !!this.changed && !this.changed.has(second.src.file) && this.changed.has(first.src.file);
    const [blamed, other] = swap ? [first, second] : [second, first];
    this.at(blamed.src, blamed.path, message(other));
  }

  /** A Bilingual message carries its French; a plain string is English only. */
  at(src: YamlFile, path: ReadonlyArray<string | number>, message: string | Bilingual): void {
    this.errors.push(Report.diagnostic(src, path, message));
  }

  /** Like `at`, but the data stays valid: validate prints it and goes on. */
  warnAt(src: YamlFile, path: ReadonlyArray<string | number>, message: string | Bilingual): void {
    this.warnings.push(Report.diagnostic(src, path, message));
  }

  private static diagnostic(src: YamlFile, path: ReadonlyArray<string | number>, message: string | Bilingual): Diagnostic {
    const p = locate(src, path);
    const text = typeof message === "string" ? { message } : { message: message.en, fr: message.fr };
    return { file: src.file, line: p.line, col: p.col, field: formatPath(path), ...text };
  }

  /** "members/velo-libre/member.yaml:9 sites[0].host" — how a message refers to another place. */
  static where(src: YamlFile, path: ReadonlyArray<string | number>): string {
    const p = locate(src, path);
    return `${src.file}:${p.line} ${formatPath(path)}`;
  }
}
