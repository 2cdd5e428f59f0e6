import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { freshSshPublicKey } from "../../lib/bench/synthetic";

/**
 * The lab acceptance test's own data tree (tests/lab-e2e.test.ts): two members, their zones
 * (one with a sub-zone of its own), one VPS and Globenet's reverse zones, on the lab inventory (every host 127.0.0.1). Each
 * step of the test edits it through LabTree, as a volunteer edits members/ and zones/.
 *
 * Handles, domains and database names are the test's own, so nothing collides with the
 * example data or the other tests.
 */

/** Folders on the lab host outside the checkout (QEMU, running as libvirt-qemu, must reach the disks). */
export const E2E_VAR = "/var/lib/globenet-lab/e2e";
export const IMAGES_DIR = `${E2E_VAR}/images/hv1`;
export const ARCHIVE_DIR = `${E2E_VAR}/archive`;
export const BASE_IMAGE = "/var/lib/globenet-lab/base/debian-12.qcow2";

/** The lab sshd's facts in this tree's inventory (as Pulumi.lab.yaml's): suspension drop-ins go there. */
export const LAB_SSHD = { dropinDir: "/var/lib/globenet-lab/sshd_config.d", pidFile: "/run/globenet-lab-sshd.pid" };
export const VELO = "atelier-velo";
export const ONDES = "radio-ondes";
export const VPS_DOMAIN = `${VELO}--atelier`;

export interface VeloState {
  status: "active" | "suspended";
  aliases: string[];
  /** Whether blog.atelier-velo.test is still a site. */
  blog: boolean;
  /** A site whose PHP version the inventory declares but the host lacks (the broken change). */
  shopPhp?: string;
  databases: string[];
  vps?: { memoryMb: number; vcpus: number };
  txt: string[];
  /** A site whose DNS is elsewhere (dns: external): the lab's resolver cannot point it at the web host. */
  external?: string;
  /** The zone atelier-velo.test's dnssec field (absent: the default, signed). */
  zoneDnssec?: boolean;
}

export interface OndesState {
  present: boolean;
  databases: string[];
}

export interface TreeState {
  phpVersions: string[];
  /** hv1's shutdown_timeout_sec: short where the guest is still booting (it ignores ACPI then). */
  shutdownTimeoutSec: number;
  velo: VeloState;
  ondes: OndesState;
}

export function initialState(): TreeState {
  return {
    phpVersions: ["8.2"],
    shutdownTimeoutSec: 3,
    velo: { status: "active", aliases: ["www.atelier-velo.test"], blog: true, databases: ["velo_wp", "velo_old"], vps: { memoryMb: 512, vcpus: 1 }, txt: ["v=spf1 -all"] },
    ondes: { present: true, databases: ["ondes_db"] },
  };
}

function inventory(s: TreeState): string {
  const ssh = `        ssh:
          user: globenet-deploy
          port: 2222
          host_key_file: .lab/ssh/host_key.pub
`;
  return `config:
  globenet-infra:inventory:
    domain: globenet.example
    hostmaster: hostmaster@globenet.example
    archive_dir: ${ARCHIVE_DIR}
    php_versions: [${s.phpVersions.map((v) => JSON.stringify(v)).join(", ")}]
    images:
      debian-12:
        path: ${BASE_IMAGE}
        boot: { kernel: ${BASE_IMAGE.replace(/\.qcow2$/, ".vmlinuz")}, initrd: ${BASE_IMAGE.replace(/\.qcow2$/, ".initrd")}, cmdline: "root=/dev/vda rw console=ttyS0 net.ifnames=0" }
    pools:
      ipv4: [{ cidr: 203.0.113.0/25, gateway: 203.0.113.1 }]
      ipv6: [{ cidr: "2001:db8:42::/64", gateway: "2001:db8:42::1" }]
    resolvers: [192.0.2.35]
    acme:
      directory: https://127.0.0.1:14000/dir
      caa_issuer: letsencrypt.org
      ca_trust: /var/lib/globenet-lab/acme/pebble-listener.pem
      store_dir: /var/lib/globenet-lab/acme/md
      retry_delay_sec: 2
    dnssec: { dnskey_ttl: 10s, zone_propagation_delay: 1s, parent_ds_ttl: 10s, parent_propagation_delay: 1s, retire_safety: 1s, publish_safety: 1s }
    backup: {}
    hosts:
      lab:
        roles: [web, db, dns-primary]
        fqdn: lab.globenet.example
        address: 127.0.0.1
        home_quota: warn
${ssh}        sshd: { dropin_dir: ${LAB_SSHD.dropinDir}, pid_file: ${LAB_SSHD.pidFile} }
      hv1:
        roles: [hypervisor]
        fqdn: hv1.globenet.example
        address: 127.0.0.1
${ssh}        capacity: { vcpus: 8, memory_mb: 8192, disk_gb: 100 }
        libvirt:
          domain_type: auto
          network: { type: user, ssh_forward_base: 24200 }
          images_dir: ${IMAGES_DIR}
          shutdown_timeout_sec: ${s.shutdownTimeoutSec}
      # The backup host: the same machine in the lab (its own account and folder).
      bk:
        roles: [backup]
        fqdn: bk.globenet.example
        address: 127.0.0.1
${ssh}`;
}

function velo(v: VeloState, key: string): string {
  const sites = [
    `  - host: atelier-velo.test\n    aliases: [${v.aliases.join(", ")}]\n    php: "8.2"\n`,
    v.blog ? `  - host: blog.atelier-velo.test\n    php: "8.2"\n` : "",
    v.shopPhp ? `  - host: shop.atelier-velo.test\n    php: "${v.shopPhp}"\n` : "",
    v.external ? `  - host: ${v.external}\n    dns: external\n` : "",
  ].join("");
  return `handle: ${VELO}
name: Atelier Vélo
contact: { email: bureau@atelier-velo.test }
status: ${v.status}
ssh_keys: ["${key}"]
sites:
${sites}databases:
${v.databases.map((d) => `  - name: ${d}\n`).join("")}cron:
  # Every minute, so the lab test sees it run; the % must reach date, escaped for cron.
  - schedule: "* * * * *"
    command: date -u +%Y-%m-%dT%H:%M >> ~/cron-ran.log
    comment: the lab's proof that cron runs the member's jobs
`;
}

const ondes = (o: OndesState) => `handle: ${ONDES}
name: Radio Ondes
contact: { email: studio@radio-ondes.test }
status: active
sites:
  - host: radio-ondes.test
    php: "8.2"
    # More than the stack's defaults (128 MB, 16 MB uploads): the lab test allocates and uploads past them.
    php_settings: { memory_limit_mb: 256, upload_max_mb: 32 }
databases:
${o.databases.map((d) => `  - name: ${d}\n`).join("")}`;

const vps = (v: { memoryMb: number; vcpus: number }) => `hypervisor: hv1
vcpus: ${v.vcpus}
memory_mb: ${v.memoryMb}
disk_gb: 3
image: debian-12
ipv4: 203.0.113.20
ipv6: "2001:db8:42::20"
dns_name: atelier.atelier-velo.test
`;

/** The files of the tree for a state; null = the file must not exist. */
export function treeFiles(s: TreeState, key: string): Record<string, string | null> {
  return {
    "Pulumi.lab.yaml": inventory(s),
    "members/globenet/member.yaml": "handle: globenet\nname: Globenet\ncontact: { email: bureau@globenet.example }\nstatus: active\n",
    [`members/${VELO}/member.yaml`]: velo(s.velo, key),
    [`members/${VELO}/vps/atelier.yaml`]: s.velo.vps ? vps(s.velo.vps) : null,
    [`members/${ONDES}/member.yaml`]: s.ondes.present ? ondes(s.ondes) : null,
    "zones/atelier-velo.test.yaml": `owner: ${VELO}\n${s.velo.zoneDnssec === undefined ? "" : `dnssec: ${s.velo.zoneDnssec}\n`}records:\n${s.velo.txt.map((t) => `  - { name: "@", type: TXT, value: ${JSON.stringify(t)} }\n`).join("")}`,
    // A member's own sub-zone of its own domain: served beside its parent, delegated from it.
    "zones/club.atelier-velo.test.yaml": `owner: ${VELO}\nrecords:\n  - { name: "@", type: TXT, value: "club" }\n`,
    "zones/radio-ondes.test.yaml": s.ondes.present ? `owner: ${ONDES}\n` : null,
    "zones/113.0.203.in-addr.arpa.yaml": "owner: globenet\n",
    "zones/2.4.0.0.8.b.d.0.1.0.0.2.ip6.arpa.yaml": "owner: globenet\n",
  };
}

/** A data tree in `root` that the test rewrites to a new state at each step. */
export class LabTree {
  state: TreeState = initialState();

  /** `key`: the member's public key (a fresh one when the test never logs in). */
  constructor(
    readonly root: string,
    readonly key = freshSshPublicKey("bureau@atelier-velo"),
    change?: (s: TreeState) => void,
  ) {
    change?.(this.state);
    this.write();
  }

  /** Applies `change` to the state and rewrites the files. */
  edit(change: (s: TreeState) => void): void {
    change(this.state);
    this.write();
  }

  private write(): void {
    for (const [rel, content] of Object.entries(treeFiles(this.state, this.key))) {
      const f = join(this.root, rel);
      if (content === null) {
        rmSync(f, { force: true });
        continue;
      }
      mkdirSync(dirname(f), { recursive: true });
      writeFileSync(f, content);
    }
    // A member folder left empty would be a member without member.yaml.
    if (!this.state.ondes.present) rmSync(join(this.root, "members", ONDES), { recursive: true, force: true });
    if (!this.state.velo.vps) rmSync(join(this.root, "members", VELO, "vps"), { recursive: true, force: true });
  }
}
