import { formatPath, type Diagnostic } from "../load/diagnostic";
import { locate, type YamlFile } from "../load/yaml-file";

/** Collects cross-file diagnostics, each pointing at a field of a file. */
export class Report {
  readonly errors: Diagnostic[] = [];

  at(src: YamlFile, path: ReadonlyArray<string | number>, message: string): void {
    const p = locate(src, path);
    this.errors.push({ file: src.file, line: p.line, col: p.col, field: formatPath(path), message });
  }

  /** "members/velo-libre/member.yaml:9 sites[0].host" — how a message refers to another place. */
  static where(src: YamlFile, path: ReadonlyArray<string | number>): string {
    const p = locate(src, path);
    return `${src.file}:${p.line} ${formatPath(path)}`;
  }
}
