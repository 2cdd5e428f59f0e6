import { Report } from "./report";
import type { Ctx } from "./context";
import type { YamlFile } from "../load/yaml-file";

/**
 * Database names are global on a MariaDB server and double as the user name, so two members
 * (or one member twice) cannot use the same one, even on different db hosts: moving a
 * member between db hosts must stay possible.
 */
export function checkDatabaseNames(ctx: Ctx): void {
  const first = new Map<string, { handle: string; src: YamlFile; path: Array<string | number> }>();
  for (const m of ctx.current) {
    m.value.databases.forEach((d, i) => {
      const path = ["databases", i, "name"];
      const prev = first.get(d.name);
      if (prev) {
        const whose = prev.handle === m.value.handle ? "this member" : `member ${prev.handle}`;
        ctx.report.at(m.src, path, `database "${d.name}" is already used by ${whose} at ${Report.where(prev.src, prev.path)} (choose another name, e.g. prefixed with the handle)`);
      } else first.set(d.name, { handle: m.value.handle, src: m.src, path });
    });
  }
}
