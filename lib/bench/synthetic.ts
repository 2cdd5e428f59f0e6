import { generateKeyPairSync } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** An OpenSSH ed25519 public key line made at run time (no key material is committed). */
export function freshSshPublicKey(comment: string): string {
  const { publicKey } = generateKeyPairSync("ed25519");
  const raw = publicKey.export({ format: "der", type: "spki" }).subarray(-32);
  const str = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  const blob = Buffer.concat([str(Buffer.from("ssh-ed25519")), str(raw)]);
  return `ssh-ed25519 ${blob.toString("base64")} ${comment}`;
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
 * alias in its own zone and a database; one in 20 has a VPS. Addresses come from the
 * benchmarking range 198.18.0.0/15 (RFC 2544) so they never look like real ones.
 */
export function writeSyntheticTree(root: string, members: number): void {
  const key = freshSshPublicKey("bench@synthetic");
  const hostKey = freshSshPublicKey("host@synthetic");
  const vpsCount = Math.floor(members / 20);
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
  for (let i = 0; i < members; i++) {
    const handle = `member-${String(i).padStart(5, "0")}`;
    const domain = `${handle}.example`;
    const dir = join(root, "members", handle);
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, "member.yaml"),
      [
        `handle: ${handle}`,
        `name: Association numéro ${i}`,
        `contact: { email: bureau@${domain} }`,
        `status: ${i % 50 === 7 ? "suspended" : "active"}`,
        `ssh_keys: ["${key}"]`,
        "sites:",
        `  - host: ${domain}`,
        `    aliases: [www.${domain}]`,
        '    php: "8.2"',
        "databases:",
        `  - name: db_${String(i).padStart(5, "0")}`,
        "",
      ].join("\n"),
    );
    writeFileSync(join(root, "zones", `${domain}.yaml`), `owner: ${handle}\nrecords:\n  - { name: "@", type: MX, priority: 10, value: mail.globenet.example. }\n  - { name: "@", type: TXT, value: "v=spf1 mx -all" }\n`);
    if (i % 20 === 0 && i / 20 < vpsCount) {
      const n = i / 20;
      mkdirSync(join(dir, "vps"), { recursive: true });
      const v4 = `198.${18 + Math.floor((n + 2) / 65536)}.${Math.floor((n + 2) / 256) % 256}.${(n + 2) % 256}`;
      writeFileSync(join(dir, "vps", "vm.yaml"), `hypervisor: ${hv[Math.floor(n / 200)]}\nvcpus: 2\nmemory_mb: 2048\ndisk_gb: 20\nimage: debian-12\nipv4: ${v4}\nipv6: 2001:db8:42::${(n + 2).toString(16)}\n`);
    }
  }
}
