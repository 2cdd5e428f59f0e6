import { cli, type CliResult } from "./cli";
import { tempDir } from "./temp-dir";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { formatDiagnostic } from "../../lib/load/diagnostic";
import { loadModel } from "../../lib/check/build";
import { freshSshPublicKey } from "../../lib/bench/synthetic";

export const KEY = freshSshPublicKey("bureau@laptop");
export const HOST_KEY = freshSshPublicKey("root@host");

/** A small valid tree; tests override or remove files (value null) to provoke one error each. */
export function baseFiles(): Record<string, string> {
  return {
    "Pulumi.test.yaml": `config:
  globenet-infra:inventory:
    domain: globenet.example
    hostmaster: hostmaster@globenet.example
    php_versions: ["8.2"]
    images:
      debian-12: { path: /var/lib/libvirt/images/base/debian-12.qcow2 }
    pools:
      ipv4: [{ cidr: 203.0.113.0/25, gateway: 203.0.113.1 }]
      ipv6: [{ cidr: 2001:db8:42::/64, gateway: 2001:db8:42::1 }]
    resolvers: [192.0.2.53]
    acme: { directory: "https://acme-v02.api.letsencrypt.org/directory", caa_issuer: letsencrypt.org }
    hosts:
      web1:
        roles: [web, db]
        fqdn: web1.globenet.example
        address: 192.0.2.10
        ipv6: 2001:db8:1::10
        ssh: { user: globenet-deploy, host_key: "${HOST_KEY}" }
      ns1:
        roles: [dns-primary]
        fqdn: ns1.globenet.example
        address: 192.0.2.53
        ssh: { user: globenet-deploy, host_key: "${HOST_KEY}" }
      ns2:
        roles: [dns-secondary]
        fqdn: ns2.globenet.example
        address: 198.51.100.53
        ssh: { user: globenet-deploy, host_key: "${HOST_KEY}" }
      hv1:
        roles: [hypervisor]
        fqdn: hv1.globenet.example
        address: 192.0.2.20
        ssh: { user: globenet-deploy, host_key: "${HOST_KEY}" }
        capacity: { vcpus: 8, memory_mb: 8192, disk_gb: 100 }
        libvirt: { domain_type: kvm, network: { type: bridge, bridge: br0 } }
`,
    "members/globenet/member.yaml": `handle: globenet
name: Globenet
contact: { email: bureau@globenet.example }
status: active
sites:
  - host: www.globenet.example
`,
    "members/velo-libre/member.yaml": `handle: velo-libre
name: Association Vélo Libre
contact:
  email: bureau@velo-libre.example
status: active
ssh_keys: ["${KEY}"]
sites:
  - host: velo-libre.example
    aliases: [www.velo-libre.example]
    php: "8.2"
databases:
  - name: velo_wp
`,
    "members/velo-libre/vps/atelier.yaml": `hypervisor: hv1
vcpus: 2
memory_mb: 2048
disk_gb: 20
image: debian-12
ipv4: 203.0.113.20
ipv6: 2001:db8:42::20
`,
    "zones/globenet.example.yaml": "owner: globenet\nrecords: []\n",
    "zones/velo-libre.example.yaml": `owner: velo-libre
records:
  - { name: "@", type: MX, priority: 10, value: mail.globenet.example. }
  - { name: "@", type: TXT, value: "v=spf1 mx -all" }
`,
    "zones/113.0.203.in-addr.arpa.yaml": "owner: globenet\n",
  };
}

/** Writes the base tree with `changes` applied (null removes a file) and returns its root. */
export function writeTree(changes: Record<string, string | null> = {}): string {
  const root = tempDir("globenet-tree-");
  const files = { ...baseFiles(), ...changes };
  for (const [rel, content] of Object.entries(files)) {
    if (content === null) continue;
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), content);
  }
  return root;
}

/** Loads a tree (base + changes) and returns its formatted errors. */
export function errorsOf(changes: Record<string, string | null> = {}): string[] {
  return loadModel(writeTree(changes), "test").errors.map((d) => formatDiagnostic(d));
}

/** The base inventory with a mail host mx1 (mail.globenet.example) and, optionally, `mail:` settings (one YAML line). */
export function inventoryWithMailHost(mailSettings = ""): string {
  const inv = baseFiles()["Pulumi.test.yaml"] as string;
  const settings = mailSettings ? `    mail: ${mailSettings}\n` : "";
  return inv.replace("    hosts:\n", `${settings}    hosts:\n      mx1:\n        roles: [mail]\n        fqdn: mail.globenet.example\n        address: 192.0.2.25\n        ipv6: 2001:db8:1::25\n        ssh: { user: globenet-deploy, host_key: "${HOST_KEY}" }\n`);
}

/** The base member file with one line replaced — keeps positions easy to predict. */
export function memberWith(find: string, replace: string): string {
  const src = baseFiles()["members/velo-libre/member.yaml"] as string;
  if (!src.includes(find)) throw new Error(`fixture has no "${find}"`);
  return src.replace(find, replace);
}

export function vpsWith(find: string, replace: string): string {
  const src = baseFiles()["members/velo-libre/vps/atelier.yaml"] as string;
  if (!src.includes(find)) throw new Error(`fixture has no "${find}"`);
  return src.replace(find, replace);
}

/** `npm run <command>` as a volunteer runs it, in this process (tests/helpers/cli.ts). */
export function runCli(...args: string[]): Promise<CliResult> {
  return cli(args);
}
