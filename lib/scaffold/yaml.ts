import type { Resources } from "./hypervisor";
import { describeSize } from "./hypervisor";

/**
 * A string as a YAML scalar: plain when YAML's core schema reads it back as that same string,
 * else double-quoted (JSON's escapes are YAML's). IPv6 addresses are always quoted, as the
 * READMEs ask.
 */
export function scalar(s: string): string {
  const plain =
    /^[A-Za-z\u00c0-\u024f][A-Za-z0-9\u00c0-\u024f ._@+'()\-]*$/.test(s) &&
    !/\s$/.test(s) &&
    !/^(true|false|null|yes|no|on|off|y|n)$/i.test(s);
  return plain ? s : JSON.stringify(s);
}

/** A comment line (or several) with the text; never lets a value end the comment. */
function comment(...lines: string[]): string {
  return lines.flatMap((l) => l.split("\n")).map((l) => (l === "" ? "#" : `# ${l}`)).join("\n");
}

export interface MemberInput {
  handle: string;
  name?: string;
  email?: string;
  sshKeys: string[];
  /** The first PHP version of the inventory, for the commented site example. */
  php: string;
  command: string;
}

/** Placeholders that validate (the file must pass npm run validate untouched) and say what to write. */
export const PLACEHOLDER_NAME = "TODO: full name of the member";
export const placeholderEmail = (handle: string) => `todo@${handle}.invalid`;

function dbPrefix(handle: string): string {
  return handle.split("-")[0]!.slice(0, 20);
}

export function memberYaml(m: MemberInput): string {
  const out: string[] = [];
  out.push(comment(`Member "${m.handle}", created with: ${m.command}`, "Fill in what is marked TODO, then: npm run validate. Fields: members/README.md."));
  out.push(comment("The handle is also the unix user on the web host: it never changes."));
  out.push(`handle: ${m.handle}`);
  if (m.name === undefined) out.push(comment("TODO: the member's full name, accents welcome, one line: Association Vélo Libre"));
  out.push(`name: ${scalar(m.name ?? PLACEHOLDER_NAME)}`);
  out.push("contact:");
  if (m.email === undefined) out.push("  " + comment("TODO: where the hosting team writes to the member (.invalid is a placeholder that never delivers)"));
  out.push(`  email: ${scalar(m.email ?? placeholderEmail(m.handle))}`);
  out.push("  " + comment("backup_email: a second address for emergencies (optional)"));
  out.push("status: active");
  if (m.sshKeys.length === 0) {
    out.push(comment("Public keys allowed to log in (SFTP/SSH) as the member: the whole line of the .pub file.", "Replace [] with the member's key, for example:", "  ssh_keys:", "    - ssh-ed25519 AAAAC3Nza… bureau@laptop"));
    out.push("ssh_keys: []");
    out.push(comment("A member without a key can upload over SFTP with a password instead: the member runs", "mkpasswd -m yescrypt and sends the line it prints (never the password), then:", "  access: sftp", '  sftp_password_hash: "$y$…"'));
  } else {
    out.push(comment("Public keys allowed to log in (SFTP/SSH) as the member."));
    out.push("ssh_keys:");
    for (const k of m.sshKeys) out.push(`  - ${scalar(k)}`);
  }
  out.push(
    comment(
      "Websites: replace [] with the member's sites, for example:",
      "  sites:",
      `    - host: ${m.handle}.example`,
      `      aliases: [www.${m.handle}.example]`,
      `      php: "${m.php}"`,
      "Each name must fall in a zone file (npm run new -- zone <domain> --owner " + m.handle + "),",
      "or the site says dns: external (the domain's DNS stays at the member's registrar).",
    ),
  );
  out.push("sites: []");
  out.push(comment("MariaDB databases: replace [] with, for example:", "  databases:", `    - name: ${dbPrefix(m.handle).replace(/-/g, "_")}_wp`, "A database name is unique across all members: prefix it with something of the member's."));
  out.push("databases: []");
  return out.join("\n") + "\n";
}

export interface VpsInput {
  handle: string;
  name: string;
  sizeName: string;
  size: Resources;
  hypervisor: string;
  /** Why that hypervisor, one line. */
  hypervisorWhy: string;
  image: string;
  ipv4?: string;
  ipv6?: string;
  /** A name in one of the member's zones, suggested in a comment. */
  dnsSuggestion?: string;
  /** The name the VPS gets without dns_name. */
  defaultName: string;
  memberHasKeys: boolean;
  command: string;
}

export function vpsYaml(v: VpsInput): string {
  const out: string[] = [];
  out.push(comment(`VPS "${v.name}" of ${v.handle}, created with: ${v.command}`, 'TODO: say what it is for and the ticket number (e.g. "Dolibarr, ticket #530").', "Then: npm run validate. Fields: members/README.md, \"VPS files\"."));
  out.push(comment(v.hypervisorWhy));
  out.push(`hypervisor: ${v.hypervisor}`);
  out.push(comment(`Size "${v.sizeName}": ${describeSize(v.size)}. Growing it later is an ordinary edit`, "(the VPS restarts to take it); a disk can never shrink."));
  out.push(`vcpus: ${v.size.vcpus}`);
  out.push(`memory_mb: ${v.size.memoryMb}`);
  out.push(`disk_gb: ${v.size.diskGb}`);
  out.push(`image: ${v.image}`);
  out.push(comment("The next free addresses of the VPS pools (Pulumi.<stack>.yaml), free in every stack."));
  if (v.ipv4) out.push(`ipv4: ${v.ipv4}`);
  if (v.ipv6) out.push(`ipv6: ${JSON.stringify(v.ipv6)}`);
  if (v.dnsSuggestion) {
    out.push(comment(`Public name: uncomment to name the VPS in a zone of ${v.handle}; its A/AAAA and reverse DNS`, `are then made for you. Without it the VPS is ${v.defaultName}.`));
    out.push(`# dns_name: ${v.dnsSuggestion}`);
  } else {
    out.push(comment(`Public name: without dns_name the VPS is ${v.defaultName}. To name it in a zone of`, `${v.handle}, add for example: dns_name: ${v.name}.<their domain> (the zone must exist in zones/).`));
  }
  if (v.memberHasKeys) out.push(comment("No ssh_keys here: the member's keys (member.yaml) are installed at first boot."));
  else out.push(comment(`TODO: ${v.handle} has no ssh_keys in member.yaml, so nobody could log in to this VPS:`, "add the member's key there, or here:", "  ssh_keys:", "    - ssh-ed25519 AAAAC3Nza… tech@laptop"));
  return out.join("\n") + "\n";
}

export interface ZoneInput {
  zone: string;
  owner: string;
  /** Name servers' names (for the registrar), from the inventory. */
  nameservers: string[];
  /** Globenet's domain, for the example targets. */
  domain: string;
  command: string;
}

/** New zones are signed, and say so in their file. */
const DNSSEC_LINES = [
  comment("Signed by BIND (DNSSEC). Once applied, give the registrar the DS record printed by", "npm run dnssec -- ds <zone> (zones/README.md says how to turn it off safely)."),
  "dnssec: true",
];

export function zoneYaml(z: ZoneInput): string {
  const out: string[] = [];
  const reverse = z.zone.endsWith(".arpa");
  out.push(comment(`Zone ${z.zone}, created with: ${z.command}`, "Fields and one example of each record type: zones/README.md."));
  if (reverse) {
    out.push(comment("A reverse zone: the PTR records of every VPS and host address in it are made for you,", "nothing to write below. To change a VPS's reverse name, set dns_name in its VPS file."));
    out.push(`owner: ${z.owner}`);
    out.push(...DNSSEC_LINES);
    out.push("records: []");
    return out.join("\n") + "\n";
  }
  out.push(comment("Made for you, never written here: SOA, NS, and the A/AAAA of the owner's sites and VPS."));
  if (z.nameservers.length > 0) out.push(comment(`At the registrar, the member sets the domain's name servers to ${z.nameservers.join(" and ")}.`));
  out.push(`owner: ${z.owner}`);
  out.push(...DNSSEC_LINES);
  const mail = `mail.${z.domain}.`;
  out.push(
    comment(
      "TODO: the records the member needs, one line each. Replace [] with, for example:",
      "records:",
      `  - { name: "@", type: MX, priority: 10, value: ${mail} }`,
      `  - { name: "@", type: TXT, value: "v=spf1 include:_spf.${z.domain} -all" }`,
      `  - { name: _dmarc, type: TXT, value: "v=DMARC1; p=quarantine; rua=mailto:dmarc@${z.zone}" }`,
      `  - { name: webmail, type: CNAME, value: ${mail} }`,
      '  - { name: "@", type: CAA, tag: issue, value: letsencrypt.org }',
      "A domain that sends and receives no mail says so instead:",
      '  - { name: "@", type: MX, priority: 0, value: . }',
      '  - { name: "@", type: TXT, value: "v=spf1 -all" }',
    ),
  );
  out.push("records: []");
  return out.join("\n") + "\n";
}
