import { paths } from "../model/paths";
import type { Model, ZoneModel } from "../model/types";
import { UnsafeValueError, lineComment, namedConfAddress, namedConfString } from "./escape";
import { renderTemplate } from "./handlebars";
import { generatedNotice, inventoryFile } from "./notice";

/**
 * bind/named.conf.globenet for one DNS host: a primary stanza for each zone it is primary
 * of, a secondary stanza for each zone it is a secondary of (a host may be both, for
 * different zones). Included from the host's named.conf by the apply step.
 */
export function renderNamedConf(model: Model, host: string): string {
  const zones = [...model.zones].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  // Transfers and NOTIFY are signed with the stack's one TSIG key (docs/architecture.md,
  // "Secondary name servers and TSIG"): never allowed by address alone.
  const key = namedConfString(paths.transferKeyName);
  const withKey = (a: string) => `${a} key ${key};`;
  const primary = zones
    .filter((z) => z.primary === host)
    .map((z) => {
      const secondaries = z.secondaries.map((s) => namedConfAddress(hostAddress(model, s, z)));
      return {
        name: namedConfString(z.name),
        source: lineComment(z.file),
        file: namedConfString(paths.signingZoneFile(z.name)),
        // Every primary zone goes through inline signing, signed or not: "insecure" keeps a zone
        // that was signed valid while BIND withdraws its keys, and the served serial never goes back.
        policy: z.dnssec ? namedConfString(z.dnssecPolicy ?? DNSSEC_POLICY) : "insecure",
        keyDirectory: namedConfString(paths.dnssecKeyDir),
        allowTransfer: secondaries.length > 0 ? `key ${key};` : "none;",
        alsoNotify: secondaries.length > 0 ? secondaries.map(withKey).join(" ") : null,
      };
    });
  const secondary = zones
    .filter((z) => z.secondaries.includes(host))
    .map((z) => ({
      name: namedConfString(z.name),
      source: lineComment(z.file),
      file: namedConfString(paths.secondaryZoneFile(z.name)),
      primary: withKey(namedConfAddress(hostAddress(model, z.primary, z))),
    }));
  const transfers = secondary.length > 0 || primary.some((z) => z.alsoNotify !== null);
  const d = model.inventory.dnssec;
  return renderTemplate("named.conf.globenet", {
    notice: lineComment(generatedNotice(`zones/*.yaml and ${inventoryFile(model.stack)}`)),
    host: lineComment(host),
    transferKeyFile: transfers ? namedConfString(paths.transferKeyFile) : null,
    policy:
      primary.length > 0
        ? {
            name: namedConfString(DNSSEC_POLICY),
            algorithm: d.algorithm,
            zskLifetime: namedConfDuration(d.zsk_lifetime),
            timings: [
              ["dnskey-ttl", d.dnskey_ttl],
              ["max-zone-ttl", d.max_zone_ttl],
              ["zone-propagation-delay", d.zone_propagation_delay],
              ["parent-ds-ttl", d.parent_ds_ttl],
              ["parent-propagation-delay", d.parent_propagation_delay],
              ["retire-safety", d.retire_safety],
              ["publish-safety", d.publish_safety],
            ].map(([k, v]) => ({ key: k as string, value: namedConfDuration(v as string) })),
          }
        : null,
    primary,
    secondary,
  });
}

function hostAddress(model: Model, name: string, zone: ZoneModel): string {
  const h = model.hosts.find((x) => x.name === name);
  if (!h) throw new UnsafeValueError("named.conf", name, `zone ${zone.name} names a DNS host that is not in the inventory`);
  return h.address;
}

/** True when a host serves at least one zone, or has a DNS role (it then gets a file even if empty). */
export function isDnsHost(model: Model, host: string): boolean {
  const h = model.hosts.find((x) => x.name === host);
  const role = !!h && (h.roles.includes("dns-primary") || h.roles.includes("dns-secondary"));
  return role || model.zones.some((z) => z.primary === host || z.secondaries.includes(host));
}

/** The dnssec-policy of zones with dnssec: true, defined in named.conf.globenet from the inventory. */
export const DNSSEC_POLICY = "globenet";

/** A BIND duration as the inventory schema allows it (digits and unit letters only), checked again here. */
function namedConfDuration(v: string): string {
  if (!/^[0-9A-Za-z]+$/.test(v)) throw new UnsafeValueError("named.conf", v, "a duration is digits and unit letters");
  return v;
}

export const NAMED_CONF_PATH = "bind/named.conf.globenet";
