import { Report } from "./report";
import type { Ctx } from "./context";
import type { YamlFile } from "../load/yaml-file";

export interface NameClaim {
  name: string;
  handle: string;
  site: number;
  kind: "host" | "aliases" | "redirects";
  index: number;
  src: YamlFile;
  path: Array<string | number>;
  external: boolean;
}

/** Every name a current member's sites answer to, with where it is written. */
export function siteNameClaims(ctx: Ctx): NameClaim[] {
  const claims: NameClaim[] = [];
  for (const m of ctx.current) {
    m.value.sites.forEach((s, i) => {
      const external = s.dns === "external";
      claims.push({ name: s.host, handle: m.value.handle, site: i, kind: "host", index: 0, src: m.src, path: ["sites", i, "host"], external });
      s.aliases.forEach((a, j) => claims.push({ name: a, handle: m.value.handle, site: i, kind: "aliases", index: j, src: m.src, path: ["sites", i, "aliases", j], external }));
      s.redirects.forEach((r, j) => claims.push({ name: r, handle: m.value.handle, site: i, kind: "redirects", index: j, src: m.src, path: ["sites", i, "redirects", j], external }));
    });
  }
  return claims;
}

/** A name may be claimed once in the whole tree: as a site host, an alias or a redirect. */
export function checkDuplicateSiteNames(ctx: Ctx, claims: NameClaim[]): void {
  const first = new Map<string, NameClaim>();
  for (const c of claims) {
    const prev = first.get(c.name);
    if (prev) {
      ctx.report.duplicate(prev, c, (other) => {
        const self = other === prev ? c : prev;
        const whose = other.handle === self.handle ? "this member" : `member ${other.handle}`;
        const whoseFr = other.handle === self.handle ? "ce membre" : `le membre ${other.handle}`;
        return {
          en: `"${c.name}" is already claimed by ${whose} at ${Report.where(other.src, other.path)} (a name belongs to one site; remove one of them)`,
          fr: `« ${c.name} » est déjà pris par ${whoseFr} en ${Report.where(other.src, other.path)} (un nom appartient à un seul site ; retirez l'un des deux)`,
        };
      });
    } else first.set(c.name, c);
  }
}

/** Each site's PHP version must be one the stack offers. */
export function checkPhpVersions(ctx: Ctx): void {
  const offered = ctx.inventory.value.php_versions;
  for (const m of ctx.current) {
    m.value.sites.forEach((s, i) => {
      if (s.php !== "none" && !offered.includes(s.php)) {
        ctx.report.at(m.src, ["sites", i, "php"], { en: `PHP ${s.php} is not offered on this stack (use one of: ${offered.map((v) => `"${v}"`).join(", ")}, or "none")`, fr: `PHP ${s.php} n'est pas proposé sur cette pile (utilisez l'une de : ${offered.map((v) => `"${v}"`).join(", ")}, ou "none")` });
      }
    });
  }
}
