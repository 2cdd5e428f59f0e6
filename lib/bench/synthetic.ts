import { generateKeyPairSync } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { wireString } from "../schema/ssh-key";

/** An OpenSSH ed25519 public key line made at run time (no key material is committed). */
export function freshSshPublicKey(comment: string): string {
  const { publicKey } = generateKeyPairSync("ed25519");
  const raw = publicKey.export({ format: "der", type: "spki" }).subarray(-32);
  const blob = Buffer.concat([wireString(Buffer.from("ssh-ed25519")), wireString(raw)]);
  return `ssh-ed25519 ${blob.toString("base64")} ${comment}`;
}

export interface SyntheticSize {
  /** VPS in all (default one member in 20); at most one per member. */
  vps?: number;
  /** Forward zones of members in all (default one per member); past one per member, members get a second domain's zone. */
  zones?: number;
  /**
   * What a real zone holds beside MX and SPF (DMARC, a CNAME, an address outside Globenet), a
   * second site on one member in 4, a key of its own for each member, and the VPS pool's reverse
   * zones: the data bench's shape.
   */
  realistic?: boolean;
}

/** The synthetic stacks' inventory up to its hosts (Pulumi.bench.yaml): addresses from RFC 2544's benchmarking range. */
export const SYNTHETIC_INVENTORY_HEAD: readonly string[] = [
  "config:",
  "  globenet-infra:inventory:",
  "    domain: globenet.example",
  "    hostmaster: hostmaster@globenet.example",
  '    php_versions: ["8.2"]',
  "    images:",
  "      debian-12: { path: /var/lib/libvirt/images/base/debian-12.qcow2 }",
  "    pools:",
  "      ipv4: [{ cidr: 198.18.0.0/15, gateway: 198.18.0.1 }]",
  "      ipv6: [{ cidr: 2001:db8:42::/64, gateway: 2001:db8:42::1 }]",
  "    resolvers: [192.0.2.53]",
  '    acme: { directory: "https://acme-v02.api.letsencrypt.org/directory", caa_issuer: letsencrypt.org }',
];

/**
 * Writes a synthetic but valid data tree with `members` members: each has a PHP site with an
 * alias in its own zone and a database; one in 20 has a VPS (or `size.vps` in all). Addresses
 * come from the benchmarking range 198.18.0.0/15 (RFC 2544) so they never look like real ones.
 */
export function writeSyntheticTree(root: string, members: number, size: SyntheticSize = {}): void {
  const key = freshSshPublicKey("bench@synthetic");
  const hostKey = freshSshPublicKey("host@synthetic");
  const vpsCount = Math.min(members, size.vps ?? Math.floor(members / 20));
  const vpsEvery = size.vps === undefined ? 20 : Math.max(1, Math.floor(members / Math.max(1, vpsCount)));
  const zoneCount = size.zones ?? members;
  const rich = size.realistic === true;
  const hvCount = Math.max(1, Math.ceil(vpsCount / 200));
  const hv = Array.from({ length: hvCount }, (_, i) => `hv${i + 1}`);
  const inventory = [
    ...SYNTHETIC_INVENTORY_HEAD,
    "    hosts:",
    ...[
      ["web1", "web", "192.0.2.10"],
      ["db1", "db", "192.0.2.11"],
      ["ns1", "dns-primary", "192.0.2.12"],
    ].flatMap(([n, r, a]) => [`      ${n}:`, `        roles: [${r}]`, `        fqdn: ${n}.globenet.example`, `        address: ${a}`, `        ssh: { user: globenet-deploy, host_key: "${hostKey}" }`]),
    ...hv.flatMap((n, i) => [
      `      ${n}:`,
      "        roles: [hypervisor]",
      `        fqdn: ${n}.globenet.example`,
      `        address: 192.0.2.${100 + i}`,
      `        ssh: { user: globenet-deploy, host_key: "${hostKey}" }`,
      "        capacity: { vcpus: 4096, memory_mb: 16000000, disk_gb: 1000000 }",
      "        libvirt: { domain_type: kvm, network: { type: bridge, bridge: br0 } }",
    ]),
    "",
  ].join("\n");
  mkdirSync(join(root, "zones"), { recursive: true });
  writeFileSync(join(root, "Pulumi.bench.yaml"), inventory);
  writeFileSync(join(root, "zones", "globenet.example.yaml"), "owner: globenet\nrecords: []\n");
  mkdirSync(join(root, "members", "globenet", "vps"), { recursive: true });
  writeFileSync(join(root, "members", "globenet", "member.yaml"), "handle: globenet\nname: Globenet\ncontact: { email: bureau@globenet.example }\nstatus: active\n");
  const zoneText = (handle: string, domain: string, i: number) =>
    `owner: ${handle}\nrecords:\n  - { name: "@", type: MX, priority: 10, value: mail.globenet.example. }\n  - { name: "@", type: TXT, value: "v=spf1 mx -all" }\n` +
    (rich ? `  - { name: _dmarc, type: TXT, value: "v=DMARC1; p=quarantine; rua=mailto:dmarc@${domain}" }\n  - { name: blog, type: CNAME, value: www.${domain}. }\n  - { name: lists, type: A, value: 203.0.113.${i % 250 + 1} }\n` : "");
  for (let i = 0; i < members; i++) {
    const handle = `member-${String(i).padStart(5, "0")}`;
    const domain = `${handle}.example`;
    const second = rich && i % 4 === 1 && i < zoneCount ? `  - host: shop.${domain}\n    php: "8.2"\n` : "";
    const dir = join(root, "members", handle);
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, "member.yaml"),
      [
        `handle: ${handle}`,
        `name: Association numéro ${i}`,
        `contact: { email: bureau@${domain} }`,
        `status: ${i % 50 === 7 ? "suspended" : "active"}`,
        `ssh_keys: ["${rich ? freshSshPublicKey(`${handle}@synthetic`) : key}"]`,
        "sites:",
        `  - host: ${domain}`,
        `    aliases: [www.${domain}]`,
        '    php: "8.2"',
        ...(second ? [second.trimEnd()] : []),
        "databases:",
        `  - name: db_${String(i).padStart(5, "0")}`,
        "",
      ].join("\n"),
    );
    if (i < zoneCount) writeFileSync(join(root, "zones", `${domain}.yaml`), zoneText(handle, domain, i));
    if (i % vpsEvery === 0 && i / vpsEvery < vpsCount) {
      const n = i / vpsEvery;
      mkdirSync(join(dir, "vps"), { recursive: true });
      const v4 = `198.${18 + Math.floor((n + 2) / 65536)}.${Math.floor((n + 2) / 256) % 256}.${(n + 2) % 256}`;
      writeFileSync(join(dir, "vps", "vm.yaml"), `hypervisor: ${hv[Math.floor(n / 200)]}\nvcpus: 2\nmemory_mb: 2048\ndisk_gb: 20\nimage: debian-12\nipv4: ${v4}\nipv6: 2001:db8:42::${(n + 2).toString(16)}\n`);
    }
  }
  // Past one zone per member: a second domain, owned by the members in turn.
  for (let i = members; i < zoneCount; i++) {
    const handle = `member-${String(i % members).padStart(5, "0")}`;
    const domain = `extra-${String(i).padStart(5, "0")}.example`;
    writeFileSync(join(root, "zones", `${domain}.yaml`), zoneText(handle, domain, i));
  }
  if (rich && vpsCount > 0) {
    // The pool's reverse zones, as Globenet keeps them: one per /24 the VPS use, and the /64's.
    const last = vpsCount + 1;
    for (let n = 0; n <= last; n += 256) {
      const v4 = [198, 18 + Math.floor(n / 65536), Math.floor(n / 256) % 256];
      writeFileSync(join(root, "zones", `${v4.reverse().join(".")}.in-addr.arpa.yaml`), "owner: globenet\nrecords: []\n");
    }
    writeFileSync(join(root, "zones", "0.0.0.0.2.4.0.0.8.b.d.0.1.0.0.2.ip6.arpa.yaml"), "owner: globenet\nrecords: []\n");
  }
}
