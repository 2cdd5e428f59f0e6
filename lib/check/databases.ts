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
      const here = { handle: m.value.handle, src: m.src, path };
      if (prev) {
        ctx.report.duplicate(prev, here, (other) => {
          const self = other === prev ? here : prev;
          const whose = other.handle === self.handle ? "this member" : `member ${other.handle}`;
          const whoseFr = other.handle === self.handle ? "ce membre" : `le membre ${other.handle}`;
          return {
            en: `database "${d.name}" is already used by ${whose} at ${Report.where(other.src, other.path)} (choose another name, e.g. prefixed with the handle)`,
            fr: `la base de données « ${d.name} » est déjà utilisée par ${whoseFr} en ${Report.where(other.src, other.path)} (choisissez un autre nom, par exemple préfixé par l'identifiant du membre)`,
          };
        });
      } else first.set(d.name, here);
    });
  }
}
