import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { formatDiagnostic, frenchOf, type Diagnostic } from "../lib/load/diagnostic";
import { loadModel } from "../lib/check/build";

/**
 * Unit tier (no root, no daemon, no engine): every message a volunteer can get from validate
 * has a French text. The corpus: the example data broken in one way at a time, each way
 * reaching a different check, loader or schema message.
 */
const REPO = join(__dirname, "..");
const tmp = mkdtempSync(join(tmpdir(), "globenet-i18n-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

type Edit = { file: string; from?: string; to?: string; write?: string; remove?: boolean };

const M = "members/velo-libre/member.yaml";
const V = "members/velo-libre/vps/atelier.yaml";
const Z = "zones/velo-libre.example.yaml";
const O = "members/ondes-libres/member.yaml";
const B = "members/biblio-menil/member.yaml";

const CORPUS: Array<[string, Edit[]]> = [
  ["a status misspelt", [{ file: M, from: "status: active", to: "status: actif" }]],
  ["a key misspelt", [{ file: M, from: "sites:", to: "sties:" }]],
  ["an unknown key far from any", [{ file: M, from: "status: active", to: "status: active\nzzzzzz: 1" }]],
  ["a host name in capitals", [{ file: M, from: "- host: velo-libre.example", to: "- host: Velo-Libre.example" }]],
  ["a host name with a quote", [{ file: M, from: "aliases: [www.velo-libre.example]", to: "aliases: [\"www'.velo-libre.example\"]" }]],
  ["a DSA key", [{ file: M, from: "- ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK+tBZeYUZ4D98ehwVRHgYI6hfIPcJsByHLI3gzNJUtK bureau@laptop", to: "- ssh-dss AAAAB3NzaC1kc3MAAACBAP bureau@laptop" }]],
  ["a security key as a host's key", [{ file: "Pulumi.prod.yaml", from: "host_key: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEZC1X4q/1xeRsoLp1TmZ66zcDwEdWcmloDcCaP9LblD", to: "host_key: sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIAkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJAAAABHNzaDo=" }]],
  ["a private key", [{ file: M, from: "- ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK+tBZeYUZ4D98ehwVRHgYI6hfIPcJsByHLI3gzNJUtK bureau@laptop", to: "- -----BEGIN OPENSSH PRIVATE KEY-----" }]],
  ["an e-mail without @", [{ file: M, from: "email: bureau@velo-libre.example", to: "email: bureau.velo-libre.example" }]],
  ["a reserved database name", [{ file: M, from: "- name: velo_wp", to: "- name: mysql" }]],
  ["an unquoted PHP version", [{ file: M, from: 'php: "8.2"', to: "php: 8.2" }]],
  ["a PHP version not offered", [{ file: M, from: 'php: "8.2"', to: 'php: "5.6"' }]],
  ["tls none without reason", [{ file: M, from: 'php: "8.2"', to: 'php: "8.2"\n    tls: none' }]],
  ["a required field removed", [{ file: M, from: "name: Association Vélo Libre\n", to: "" }]],
  ["a number where text goes", [{ file: M, from: "name: Association Vélo Libre", to: "name: 42" }]],
  ["an unknown web host", [{ file: M, from: "status: active", to: "status: active\nweb_host: web9" }]],
  ["a handle that is not the folder", [{ file: M, from: "handle: velo-libre", to: "handle: velo-libres" }]],
  ["a YAML syntax error", [{ file: M, from: "status: active", to: "status: [active" }]],
  ["a duplicate key", [{ file: M, from: "status: active", to: "status: active\nstatus: active" }]],
  ["a YAML anchor and alias", [{ file: M, from: "status: active", to: "status: &s active\nnote: *s" }]],
  ["a site name claimed twice", [{ file: O, from: "aliases: [www.ondes-libres.example]", to: "aliases: [www.ondes-libres.example, www.velo-libre.example]" }]],
  ["a database name used twice", [{ file: O, from: "- name: ondes_wp", to: "- name: velo_wp" }]],
  ["a VPS too small", [{ file: V, from: "memory_mb: 2048", to: "memory_mb: 100" }]],
  ["a VPS disk too small", [{ file: V, from: "disk_gb: 20", to: "disk_gb: 1" }]],
  ["a VPS on an unknown hypervisor", [{ file: V, from: "hypervisor: hv1", to: "hypervisor: hv9" }]],
  ["a VPS image not offered", [{ file: V, from: "image: debian-12", to: "image: debian-9" }]],
  ["a VPS address outside the pools", [{ file: V, from: "ipv4: 203.0.113.20", to: "ipv4: 198.51.100.20" }]],
  ["a VPS address not dotted", [{ file: V, from: "ipv4: 203.0.113.20", to: "ipv4: 203.0.113" }]],
  ["a VPS IPv6 not canonical", [{ file: V, from: 'ipv6: "2001:db8:42::20"', to: 'ipv6: "2001:0db8:42::20"' }]],
  ["a VPS without address", [{ file: V, from: "ipv4: 203.0.113.20\n", to: "" }, { file: V, from: 'ipv6: "2001:db8:42::20"\n', to: "" }]],
  ["a VPS address used twice", [{ file: "members/ondes-libres/vps/stream.yaml", from: /ipv4: .*/.source, to: "" }]],
  ["a VPS file of a bad name", [{ file: "members/velo-libre/vps/A_B.yaml", write: "x: 1\n" }]],
  ["an unexpected file in members/", [{ file: "members/stray.yaml", write: "x: 1\n" }]],
  ["a member folder without member.yaml", [{ file: "members/vide/notes.txt", write: "rien\n" }]],
  ["a zone owned by nobody", [{ file: Z, from: "owner: velo-libre", to: "owner: personne" }]],
  ["a CNAME at the apex", [{ file: Z, from: "records:", to: 'records:\n  - { name: "@", type: CNAME, value: other.example. }' }]],
  ["an NS record at the apex", [{ file: Z, from: "records:", to: 'records:\n  - { name: "@", type: NS, value: ns.other.example. }' }]],
  ["a record written twice", [{ file: Z, from: "records:", to: 'records:\n  - { name: "@", type: MX, priority: 10, value: mail.globenet.example. }' }]],
  ["a CNAME beside other data", [{ file: Z, from: "records:", to: "records:\n  - { name: _dmarc, type: CNAME, value: x.other.example. }" }]],
  ["a record type in lowercase", [{ file: Z, from: "records:", to: "records:\n  - { name: x, type: cname, value: x.other.example. }" }]],
  ["a record name with a final dot", [{ file: Z, from: "records:", to: "records:\n  - { name: x., type: A, value: 192.0.2.1 }" }]],
  ["a CNAME target without the dot", [{ file: Z, from: "records:", to: "records:\n  - { name: y, type: CNAME, value: x.other.example }" }]],
  ["an A record beside a derived one", [{ file: Z, from: "records:", to: "records:\n  - { name: atelier, type: A, value: 192.0.2.99 }" }]],
  ["a CAA that forbids the CA", [{ file: Z, from: "value: letsencrypt.org }", to: "value: other-ca.example }" }]],
  ["a delegation to an unknown member", [{ file: Z, from: "records:", to: "delegations:\n  - { name: radio, to: personne }\nrecords:" }]],
  ["a zone inside another member's zone", [{ file: "zones/radio.velo-libre.example.yaml", write: "owner: ondes-libres\nrecords: []\n" }]],
  ["a zone file of a bad name", [{ file: "zones/Bad_Name.yaml", write: "owner: velo-libre\n" }]],
  ["a site named as one of Globenet's hosts", [{ file: M, from: "aliases: [www.velo-libre.example]", to: "aliases: [www.velo-libre.example, web1.globenet.example]" }]],
  ["a delegation of Globenet's own names", [{ file: "zones/globenet.example.yaml", from: "records:", to: "delegations:\n  - { name: vps, to: velo-libre }\nrecords:" }]],
  ["a departed member's leftover key and site", [{ file: "members/papier-mache/member.yaml", from: "status: departed", to: "status: departed\nssh_keys: [\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK+tBZeYUZ4D98ehwVRHgYI6hfIPcJsByHLI3gzNJUtK x@y\"]\nsites:\n  - host: papier-mache.example\n    php: none" }]],
  ["an sftp member without key or password hash", [{ file: B, from: "sftp_password_hash:", to: "# sftp_password_hash:" }]],
  ["a password hash on an ssh member", [{ file: B, from: "\naccess: sftp", to: "\naccess: ssh" }]],
  ["an access misspelt", [{ file: B, from: "\naccess: sftp", to: "\naccess: ftp" }]],
  ["a clear password where the hash goes", [{ file: B, from: "sftp_password_hash: \"", to: "sftp_password_hash: \"clear" }]],
  ["an md5-crypt password hash", [{ file: B, from: "sftp_password_hash: \"$y$", to: "sftp_password_hash: \"$1$abc$" }]],
  ["a truncated password hash", [{ file: B, from: "sftp_password_hash: \"$y$j9T$", to: "sftp_password_hash: \"$y$j9T" }]],
  ["a disk quota above the inventory's maximum", [{ file: "members/globenet/member.yaml", from: "disk_quota_mb: 10240", to: "disk_quota_mb: 999999" }]],
  ["an inode quota above the inventory's maximum", [{ file: M, from: "status: active", to: "status: active\ninode_quota: 99999999" }]],
  ["an inode quota in quotes", [{ file: M, from: "status: active", to: "status: active\ninode_quota: \"5000\"" }]],
  ["an inventory default inode quota above its maximum", [{ file: "Pulumi.lab.yaml", from: "    hosts:\n", to: "    disk_quota: { max_inodes: 10 }\n    hosts:\n" }]],
  ["an inventory PHP default above its maximum", [{ file: "Pulumi.lab.yaml", from: "    hosts:\n", to: "    php: { max: { memory_limit_mb: 16 } }\n    hosts:\n" }]],
  ["a bucket's number quoted", [{ file: "Pulumi.lab.yaml", from: "    hosts:\n", to: "    shards:\n      site: { hosts: [lab, hv1, hv2, mail1, bk] }\n      m0: { members_of: lab, bucket: \"0\", buckets: 1 }\n    hosts:\n" }]],
  ["a bucket's number a fraction", [{ file: "Pulumi.lab.yaml", from: "    hosts:\n", to: "    shards:\n      site: { hosts: [lab, hv1, hv2, mail1, bk] }\n      m0: { members_of: lab, bucket: 0.5, buckets: 1 }\n    hosts:\n" }]],
  ["a bucket's number negative", [{ file: "Pulumi.lab.yaml", from: "    hosts:\n", to: "    shards:\n      site: { hosts: [lab, hv1, hv2, mail1, bk] }\n      m0: { members_of: lab, bucket: -1, buckets: 1 }\n    hosts:\n" }]],
  ["no buckets", [{ file: "Pulumi.lab.yaml", from: "    hosts:\n", to: "    shards:\n      site: { hosts: [lab, hv1, hv2, mail1, bk] }\n      m0: { members_of: lab, bucket: 0, buckets: 0 }\n    hosts:\n" }]],
  ["too many buckets", [{ file: "Pulumi.lab.yaml", from: "    hosts:\n", to: "    shards:\n      site: { hosts: [lab, hv1, hv2, mail1, bk] }\n      m0: { members_of: lab, bucket: 0, buckets: 90 }\n    hosts:\n" }]],
  ["a bucket missing, another twice, counts that differ", [{ file: "Pulumi.lab.yaml", from: "    hosts:\n", to: "    shards:\n      site: { hosts: [lab, hv1, hv2, mail1, bk] }\n      m0: { members_of: lab, bucket: 0, buckets: 3 }\n      m1: { members_of: lab, bucket: 0, buckets: 3 }\n      m2: { members_of: lab, bucket: 1, buckets: 2 }\n    hosts:\n" }]],
  ["a bucket of a host that is not a web host, of an unknown one, beyond the count", [{ file: "Pulumi.lab.yaml", from: "    hosts:\n", to: "    shards:\n      site: { hosts: [lab, hv1, hv2, mail1, bk] }\n      m0: { members_of: hv1, bucket: 0, buckets: 1 }\n      m1: { members_of: web9, bucket: 0, buckets: 1 }\n      m2: { members_of: lab, bucket: 1, buckets: 1 }\n      m3: {}\n      m4: { members_of: lab }\n      m5: { hosts: [lab], members_of: lab, bucket: 0, buckets: 1 }\n    hosts:\n" }]],
  ["a TTL too short", [{ file: Z, from: "dnssec: true", to: "dnssec: true\nttl: 5" }]],
];

function tree(name: string, edits: Edit[]): string {
  const dir = join(tmp, name.replace(/[^a-z0-9]+/gi, "-"));
  for (const p of ["members", "zones", "Pulumi.lab.yaml", "Pulumi.prod.yaml"]) cpSync(join(REPO, p), join(dir, p), { recursive: true });
  for (const e of edits) {
    const f = join(dir, e.file);
    if (e.write !== undefined) {
      mkdirSync(join(f, ".."), { recursive: true });
      writeFileSync(f, e.write);
    } else if (e.remove) unlinkSync(f);
    else {
      const text = readFileSync(f, "utf8");
      const from = e.from as string;
      const re = e.from?.startsWith("ipv4: ") && e.from.includes("*") ? new RegExp(from) : undefined;
      const next = re ? text.replace(re, "ipv4: 203.0.113.20") : text.replace(from, e.to ?? "");
      if (next === text) throw new Error(`${name}: ${e.file} no longer holds ${JSON.stringify(from)}: update the corpus`);
      writeFileSync(f, next);
    }
  }
  return dir;
}

describe("every message validate shows has a French text", () => {
  const seen = new Map<string, Diagnostic>();
  it.each(CORPUS)("%s", (name, edits) => {
    const dir = tree(name, edits);
    const errors = ["prod", "lab"].flatMap((s) => loadModel(dir, s).errors);
    expect(errors.length, `${name}: the corpus tree should be broken`).toBeGreaterThan(0);
    const missing = errors.filter((d) => !frenchOf(d)).map((d) => formatDiagnostic(d));
    expect(missing, `${name}: no French for these`).toEqual([]);
    for (const d of errors) seen.set(d.message, d);
    // The French is what a volunteer reading French gets, and it differs from the English.
    for (const d of errors) expect(formatDiagnostic(d, "fr")).not.toBe(formatDiagnostic(d, "en"));
  });

  it("covers many distinct messages, not one repeated", () => {
    expect(seen.size).toBeGreaterThanOrEqual(40);
  });

  it("every report.at() of the checks gives French beside the English", () => {
    const files = [...readdirSync(join(REPO, "lib", "check")).filter((x) => x.endsWith(".ts")).map((f) => join("lib", "check", f)), join("lib", "check", "records.ts")];
    const bare: string[] = [];
    for (const f of files) {
      const text = readFileSync(join(REPO, f), "utf8");
      for (const m of text.matchAll(/report\.at\(/g)) {
        // The call's text up to its closing parenthesis, counting nesting.
        let depth = 0;
        let end = m.index + "report.at".length;
        for (; end < text.length; end++) {
          if (text[end] === "(") depth++;
          else if (text[end] === ")" && --depth === 0) break;
        }
        const call = text.slice(m.index, end + 1);
        // A message held in a variable (a table of { en, fr }) passes when its file writes French; the corpus checks the rest.
        const held = /,\s*[A-Za-z_]\w*\s*\)$/.test(call) && /\bfr:/.test(text);
        if (!/\bfr:/.test(call) && !/message\(other\)/.test(call) && !held) bare.push(`${f}:${text.slice(0, m.index).split("\n").length}`);
      }
    }
    expect(bare).toEqual([]);
  });
});
