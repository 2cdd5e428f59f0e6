// Unit tier: no root, no daemon, no engine. Every leaf of every data schema, changed, is
// described by the audit; labels name only fields that exist.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { z } from "zod";
import { describeFields } from "../lib/audit/fields";
import { describeFileChange } from "../lib/audit/semantic";
import { INVENTORY_KEY } from "../lib/schema/inventory";
import { DATA_SCHEMAS, labelProblems, memberLabels, type DataKind } from "../lib/schema/labels";
import { memberSchema, site } from "../lib/schema/member";
import { defOf, discriminatorValue, isObjectLike, joinPath, objectOptions, schemaNodes, unwrap } from "../lib/schema/walk";
import { another } from "./helpers/schema-values";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK+tBZeYUZ4D98ehwVRHgYI6hfIPcJsByHLI3gzNJUtK bureau@laptop";

/** One file of each kind with every optional field written, so that each leaf has a value to change. */
const FULL: Record<DataKind, unknown> = {
  member: {
    handle: "velo-libre",
    name: "Association Vélo Libre",
    contact: { email: "bureau@velo-libre.example", backup_email: "pres@velo-libre.example" },
    status: "active",
    note: "since 2019",
    ssh_keys: [KEY],
    access: "sftp",
    sftp_password_hash: "$y$j9T$RlYz6AzpzgzsXCBYMBEar/$umQKrp1pplpPA07J0feIaWfaRv4zckuQGNhscfRkgwC",
    web_host: "web1",
    db_host: "db1",
    disk_quota_mb: 2048,
    inode_quota: 50000,
    sites: [{ host: "velo-libre.example", aliases: ["www.velo-libre.example"], redirects: ["velolibre.example"], webroot: "public", php: "8.2", php_settings: { memory_limit_mb: 256, upload_max_mb: 32, max_execution_time_s: 60, max_children: 6 }, tls: "none", tls_none_reason: "kiosk", dns: "external" }],
    databases: [{ name: "velo_wp", limits: { max_user_connections: 10, max_queries_per_hour: 1000, max_updates_per_hour: 100 }, rotate_password: 2 }],
    db_limits: { max_user_connections: 20, max_queries_per_hour: 2000, max_updates_per_hour: 200 },
    cron: [{ schedule: "*/15 * * * *", command: "php wp-cron.php", comment: "WordPress" }],
    mail: [{ domain: "velo-libre.example", mailboxes: [{ local: "contact", quota_mb: 2048, password_hash: `{SHA512-CRYPT}$6$saltsalt$${"b".repeat(86)}` }], aliases: [{ local: "bureau", to: ["contact"] }], catch_all: "contact" }],
  },
  vps: { hypervisor: "hv1", vcpus: 2, memory_mb: 1024, disk_gb: 20, image: "debian-12", ipv4: "203.0.113.20", ipv6: "2001:db8:42::20", mac: "52:54:00:12:34:56", dns_name: "atelier.velo-libre.example", ssh_keys: [KEY] },
  zone: {
    owner: "velo-libre",
    ttl: 3600,
    dnssec: true,
    records: [
      { name: "www", type: "A", value: "203.0.113.10", ttl: 300 },
      { name: "www", type: "AAAA", value: "2001:db8:42::10", ttl: 300 },
      { name: "blog", type: "CNAME", value: "www.velo-libre.example.", ttl: 300 },
      { name: "@", type: "MX", priority: 10, value: "mail.globenet.example.", ttl: 300 },
      { name: "@", type: "TXT", value: "v=spf1 mx -all", ttl: 300 },
      { name: "_sip._tcp", type: "SRV", priority: 10, weight: 5, port: 5060, value: "sip.velo-libre.example.", ttl: 300 },
      { name: "@", type: "CAA", flags: 0, tag: "issue", value: "letsencrypt.org", ttl: 300 },
      { name: "lab", type: "NS", value: "ns1.globenet.example.", ttl: 300 },
      { name: "ptr", type: "PTR", value: "www.velo-libre.example.", ttl: 300 },
      { name: "www", type: "SSHFP", algorithm: 4, fingerprint_type: 2, fingerprint: "0123456789abcdef", ttl: 300 },
      { name: "_443._tcp.www", type: "TLSA", usage: 3, selector: 1, matching_type: 1, data: "0123456789abcdef", ttl: 300 },
    ],
    delegations: [{ name: "radio", to: "ondes-libres" }],
  },
  inventory: {
    domain: "globenet.example",
    hostmaster: "hostmaster@globenet.example",
    archive_dir: "/var/backups/archive",
    php_versions: ["8.2", "8.3"],
    php: { defaults: { memory_limit_mb: 100, upload_max_mb: 10, max_execution_time_s: 20, max_children: 3 }, max: { memory_limit_mb: 600, upload_max_mb: 300, max_execution_time_s: 400, max_children: 30 } },
    images: { "debian-12": { path: "/var/lib/images/debian-12.qcow2", os_variant: "debian12", boot: { kernel: "/var/lib/images/vmlinuz", initrd: "/var/lib/images/initrd", cmdline: "root=/dev/vda rw" } } },
    pools: { ipv4: [{ cidr: "203.0.113.0/24", gateway: "203.0.113.1" }], ipv6: [{ cidr: "2001:db8:42::/64", gateway: "2001:db8:42::1" }] },
    resolvers: ["203.0.113.53", "2001:db8:42::53"],
    mac_prefix: "52:54:00",
    acme: { directory: "https://ca.example/dir", caa_issuer: "ca.example", ca_trust: "/etc/ssl/ca.pem", store_dir: "/var/lib/md", retry_delay_sec: 5 },
    dnssec: { algorithm: 13, zsk_lifetime: "90d", dnskey_ttl: "1h", max_zone_ttl: "1w", zone_propagation_delay: "5m", parent_ds_ttl: "1d", parent_propagation_delay: "1h", retire_safety: "1h", publish_safety: "1h" },
    backup: { state: { host: "web1", path: "/var/backups/globenet-state" } },
    checks: { ptr: "warn" },
    disk_quota: { default_mb: 2, max_mb: 20480, default_inodes: 2, max_inodes: 1000000 },
    monitoring: { gitlab: { api: "https://gitlab.example/api/v4", project: "globenet/infra" }, mail: { to: "benevoles@globenet.example", from: "alertes@globenet.example", smarthost: "mail.globenet.example:25", require_tls: true } },
    portal: { host: "web1", name: "espace.globenet.example", port: 8451, gitlab: { api: "https://gitlab.example/api/v4", project: "globenet/infra", url: "https://gitlab.example/globenet/infra", target_branch: "main" } },
    shards: { front: { hosts: ["web1"] }, vms: { hosts: ["hv1", "hv2"] } },
    hosts: {
      web1: { roles: ["web", "db"], fqdn: "web1.globenet.example", address: "203.0.113.11", ipv4: "203.0.113.11", ipv6: "2001:db8:42::11", ssh: { user: "deploy", port: 22, host_key: KEY }, sshd: { dropin_dir: "/etc/ssh/sshd_config.d", pid_file: "/run/sshd.pid" }, home_quota: "warn" },
      hv1: {
        roles: ["hypervisor"], fqdn: "hv1.globenet.example", address: "203.0.113.12", ssh: { user: "deploy", host_key_file: ".lab/ssh/key.pub" },
        capacity: { vcpus: 8, memory_mb: 16384, disk_gb: 500 },
        libvirt: { domain_type: "qemu", network: { type: "bridge", bridge: "br0" }, images_dir: "/var/lib/libvirt/images", shutdown_timeout_sec: 90 },
      },
      hv2: {
        roles: ["hypervisor"], fqdn: "hv2.globenet.example", address: "203.0.113.13", ssh: { user: "deploy", host_key: KEY },
        capacity: { vcpus: 8, memory_mb: 16384, disk_gb: 500 },
        libvirt: { domain_type: "kvm", network: { type: "user", ssh_forward_base: 22200, ssh_forward_address: "127.0.0.1" } },
      },
    },
  },
};

const FILE: Record<DataKind, string> = { member: "members/velo-libre/member.yaml", vps: "members/velo-libre/vps/atelier.yaml", zone: "zones/velo-libre.example.yaml", inventory: "Pulumi.test.yaml" };

type Step = { key: string } | { item: true } | { entry: true } | { option: [string, unknown] };
interface Leaf {
  spath: string;
  steps: Step[];
  schema: z.ZodType;
}

/** Every leaf of a schema, once per option of the unions it sits in (a record's priority is in MX and SRV). */
function leaves(s: z.ZodType, spath = "", steps: Step[] = []): Leaf[] {
  const u = unwrap(s);
  const d = defOf(u);
  const opts = objectOptions(u);
  if (opts) {
    const disc = d.discriminator as string;
    return opts.flatMap((o) =>
      Object.entries(defOf(o).shape ?? {})
        .filter(([k]) => k !== disc)
        .flatMap(([k, c]) => leaves(c, joinPath(spath, k), [...steps, { option: [disc, discriminatorValue(o, disc)] }, { key: k }])),
    );
  }
  if (d.type === "object") return Object.entries(d.shape ?? {}).flatMap(([k, c]) => leaves(c, joinPath(spath, k), [...steps, { key: k }]));
  if (d.type === "array" && d.element && isObjectLike(d.element)) return leaves(d.element, `${spath}[]`, [...steps, { item: true }]);
  if (d.type === "record" && d.valueType) return leaves(d.valueType, `${spath}{}`, [...steps, { entry: true }]);
  return [{ spath, steps, schema: u }];
}

type Obj = Record<string, unknown>;

/**
 * The object holding the leaf in `doc`, and the leaf's key: in a list or map, the first item
 * that already has the leaf (hv1 for a hypervisor's fields), else the first that can take it.
 */
function holder(doc: unknown, steps: Step[]): { parent: Obj; key: string } | undefined {
  const resolve = (cur: unknown, i: number, create: boolean): { parent: Obj; key: string } | undefined => {
    if (cur === null || typeof cur !== "object") return undefined;
    const st = steps[i] as Step;
    if (i === steps.length - 1) {
      const key = (st as { key: string }).key;
      return create || (cur as Obj)[key] !== undefined ? { parent: cur as Obj, key } : undefined;
    }
    if ("key" in st) {
      const o = cur as Obj;
      if (o[st.key] === undefined) {
        if (!create) return undefined;
        o[st.key] = {};
      }
      return resolve(o[st.key], i + 1, create);
    }
    if ("option" in st) return (cur as Obj)[st.option[0]] === st.option[1] ? resolve(cur, i + 1, create) : undefined;
    for (const item of Array.isArray(cur) ? cur : Object.values(cur as Obj)) {
      const found = resolve(item, i + 1, create);
      if (found) return found;
    }
    return undefined;
  };
  return resolve(doc, 0, false) ?? resolve(doc, 0, true);
}

function deletePath(doc: unknown, path: PropertyKey[]): boolean {
  let cur = doc as Obj;
  for (const k of path.slice(0, -1)) cur = cur?.[k as string] as Obj;
  const last = path[path.length - 1] as string;
  if (!cur || !(last in cur)) return false;
  delete cur[last];
  return true;
}

/** A cross-field rule (a reason only with tls: none) broken by the change: drop the other optional field it names. */
function repair(schema: z.ZodType, doc: unknown, leafPath: string): unknown {
  for (let round = 0; round < 3; round++) {
    const r = schema.safeParse(doc);
    if (r.success) return doc;
    const other = r.error.issues.find((i) => i.path.join(".") !== leafPath && i.path.length > 0);
    if (!other || !deletePath(doc, other.path)) return doc;
  }
  return doc;
}

function asText(kind: DataKind, doc: unknown): string {
  return stringify(kind === "inventory" ? { config: { [INVENTORY_KEY]: doc } } : doc);
}

function concretePath(doc: unknown, parent: Obj, key: string): string {
  const find = (cur: unknown, path: string[]): string[] | undefined => {
    if (cur === parent) return [...path, key];
    if (cur && typeof cur === "object") for (const [k, v] of Object.entries(cur)) {
      const p = find(v, [...path, k]);
      if (p) return p;
    }
    return undefined;
  };
  return (find(doc, []) ?? []).join(".");
}

const kinds = Object.keys(DATA_SCHEMAS) as DataKind[];

describe("labels live beside the schemas and name real fields", () => {
  it.each(kinds)("%s: every label names a field", (kind) => {
    expect(labelProblems(DATA_SCHEMAS[kind].schema, DATA_SCHEMAS[kind].labels)).toEqual([]);
  });
  it("a label for a field that does not exist is an error", () => {
    expect(labelProblems(memberSchema, { ...memberLabels, "sites[].php_version": { label: "PHP" } })).toEqual([
      'label "sites[].php_version" names no field of the schema (rename it to the field\'s path, like "sites[].php", or remove it)',
    ]);
    expect(labelProblems(memberSchema, { sites: { label: "site", key: "hostname" } })).toEqual(['label "sites": key "hostname" is not a field of its items']);
  });
});

describe("every leaf of every schema, changed, is described by the audit", () => {
  const cases = kinds.flatMap((kind) => leaves(DATA_SCHEMAS[kind].schema).map((l) => [kind, l.spath + l.steps.filter((s) => "option" in s).map((s) => ` (${(s as { option: [string, unknown] }).option[1]})`).join(""), l] as const));

  it.each(kinds)("%s: the full fixture is valid", (kind) => {
    expect(DATA_SCHEMAS[kind].schema.safeParse(FULL[kind]).error?.issues ?? []).toEqual([]);
  });

  it("finds the leaves (a schema walk that found none would pass every case below)", () => {
    expect(cases.length).toBeGreaterThan(100);
    expect(cases.map(([, name]) => name)).toEqual(expect.arrayContaining(["sites[].php", "records[].priority (MX)", "hosts{}.libvirt.network.ssh_forward_base (user)"]));
  });

  it.each(cases)("%s %s", (kind, _name, leaf) => {
    const { schema, labels } = DATA_SCHEMAS[kind];
    const before = structuredClone(FULL[kind]);
    const after = structuredClone(FULL[kind]);
    const at = holder(after, leaf.steps);
    expect(at, `the fixture has no place for ${leaf.spath}`).toBeDefined();
    const { parent, key } = at as { parent: Obj; key: string };
    const value = another(leaf.schema, parent[key]);
    expect(value, `no other valid value for ${leaf.spath} from ${JSON.stringify(parent[key])}`).toBeDefined();
    parent[key] = value;
    const fixed = repair(schema, after, concretePath(after, parent, key));
    expect(schema.safeParse(fixed).error?.issues ?? []).toEqual([]);

    const out = describeFileChange(FILE[kind], asText(kind, before), asText(kind, fixed));
    expect(out.length).toBeGreaterThan(0);
    expect(out.join("\n")).not.toMatch(/no change in meaning|invalid (before|after)|changed$/);
    // A field that names its item (a site's host, a record's name) reads as one item added, another removed.
    const parentPath = leaf.spath.replace(/\[\]\.[^.]+$/, "");
    const isKey = labels[parentPath]?.key === key || leaf.spath === "records[].name";
    // Long values are cut in sentences, but never so that both sides read the same: their ends differ.
    const shown = String(Array.isArray(value) ? value[value.length - 1] : value).slice(-8);
    if (isKey) expect(out.some((l) => l.includes(`${value}`) && /added/.test(l))).toBe(true);
    else if (labels[leaf.spath]?.hidden) {
      // A password hash: the change is said, the value never.
      expect(out.some((l) => l.includes(`${labels[leaf.spath]?.label} replaced (not shown)`)), JSON.stringify(out)).toBe(true);
      expect(out.join("\n")).not.toContain(shown);
    } else {
      const name = labels[leaf.spath]?.label || key;
      expect(out.some((l) => l.includes(name)), `${JSON.stringify(out)} should name ${name}`).toBe(true);
      expect(out.some((l) => l.includes(shown as string) || l.includes(JSON.stringify(value).slice(0, 20))), `${JSON.stringify(out)} should show ${shown}`).toBe(true);
    }
  });
});

describe("a field added to a schema is described the day it is added", () => {
  // A copy of the member schema with a per-site field nobody labelled or wired into the audit.
  const plantedSite = z.strictObject({ ...site.shape, php_memory_mb: z.number().int().min(32).max(1024).optional() });
  const planted = memberSchema.safeExtend({ sites: z.array(plantedSite).default([]), backup_window: z.enum(["night", "day"]).optional() });
  const base = FULL.member as Obj;
  const withField = { ...base, backup_window: "night", sites: [{ ...(base.sites as Obj[])[0], php_memory_mb: 256 }] };

  it("by its path and values, without a label", () => {
    expect(describeFields(planted, planted.parse(base), planted.parse(withField), { labels: memberLabels })).toEqual(["site velo-libre.example: php_memory_mb unset → 256", "backup_window unset → night"]);
  });
  it("by its label once it has one", () => {
    const labels = { ...memberLabels, "sites[].php_memory_mb": { label: "PHP memory limit", unit: " MB" } };
    expect(labelProblems(planted, labels)).toEqual([]);
    expect(describeFields(planted, planted.parse(withField), planted.parse(base), { labels })).toEqual(["site velo-libre.example: PHP memory limit 256 MB → unset", "backup_window night → unset"]);
  });
});

describe("the data folders' READMEs name every field a volunteer may write", () => {
  const readmes: [DataKind, string][] = [
    ["member", "members/README.md"],
    ["vps", "members/README.md"],
    ["zone", "zones/README.md"],
  ];
  /** A field is named as `field`, `parent.field` or written in a YAML example as `field:`. */
  const named = (text: string, key: string) => new RegExp(String.raw`(^|[\s{\x60.,])${key}(:|\x60|\.)`, "m").test(text);
  it.each(readmes)("%s fields in %s", (kind, readme) => {
    const text = readFileSync(readme, "utf8");
    const keys = new Set(schemaNodes(DATA_SCHEMAS[kind].schema).map((n) => n.path.split(".").pop()?.replace(/\[\]|\{\}/g, "") ?? "").filter(Boolean));
    expect([...keys].filter((k) => !named(text, k))).toEqual([]);
  });
  it("a field missing from the README is caught", () => {
    expect(named("| `php` | none |", "php_memory_mb")).toBe(false);
    expect(named("| `php` | none |", "php")).toBe(true);
  });
});

describe("Pulumi.<stack>.yaml in the audit", () => {
  const stack = (inventory: unknown, extra: Record<string, unknown> = {}) => stringify({ config: { [INVENTORY_KEY]: inventory, ...extra } });
  it("describes the inventory field by field and only names other config keys, whose values may be secrets", () => {
    const inv = FULL.inventory as Obj;
    const before = stack(inv, { "globenet-infra:token": { secure: "v1:AAAAsecretbefore" } });
    const after = stack({ ...inv, php_versions: ["8.2", "8.3", "8.4"] }, { "globenet-infra:token": { secure: "v1:AAAAsecretafter" } });
    const out = describeFileChange("Pulumi.prod.yaml", before, after);
    expect(out).toEqual(["inventory: PHP version offered 8.4 added", "config globenet-infra:token changed"]);
    expect(out.join("\n")).not.toContain("secret");
  });
});
