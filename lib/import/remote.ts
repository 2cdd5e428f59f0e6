/**
 * The import's only way onto a live host: an allowlist of read-only scripts
 * (lib/import/scripts/*.sh, checked by tests/shell-scripts.test.ts), run over the provider's
 * SSH (provider/ssh: pinned host key, the deploy key from the environment, one connection per
 * host, every step time-bounded). A caller names a script of the list and gives its
 * arguments; anything else (another name, a script text, an argument of the wrong shape) is
 * refused here, before any connection is made. Arguments travel as quoted positional
 * parameters, never inside the script text. Nothing in the list writes on the host.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Target } from "../../provider/ssh/connection";
import { run } from "../../provider/ssh/remote";

/** An argument's shape: what it must match, in words for the refusal. */
interface ArgRule {
  re: RegExp;
  what: string;
}

const ABSOLUTE_PATH: ArgRule = { re: /^\/(?!.*(^|\/)\.\.(\/|$))[^\0\n\r]{0,4095}$/, what: "an absolute path without .. nor a line break" };
const UNIX_USER: ArgRule = { re: /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/, what: "a unix user name" };
const SOCKET_OR_DEFAULT: ArgRule = { re: /^$|^\/(?!.*(^|\/)\.\.(\/|$))[A-Za-z0-9._/-]{0,200}$/, what: "empty (the client's default) or the absolute path of a socket" };
const LIBVIRT_URI_OR_DEFAULT: ArgRule = { re: /^$|^[a-z][a-z0-9+]{0,20}:\/\/[A-Za-z0-9._@:/-]{0,200}$/, what: "empty (virsh's default) or a libvirt URI like qemu:///system" };

interface Allowed {
  /** The script's file in lib/import/scripts/. */
  file: string;
  /** What it reads, for messages and the docs. */
  reads: string;
  /** The rule of each argument; `rest`: the last rule repeats (1..max arguments). */
  args: readonly ArgRule[];
  rest?: { max: number };
}

/** THE allowlist: every remote command the import may run, each read-only. */
export const READ_ONLY_COMMANDS = {
  "bind-config": { file: "bind-config.sh", reads: "named-checkconf -p -x (the running BIND's configuration, secrets hidden)", args: [] },
  "zone-file": { file: "zone-file.sh", reads: "one zone file, as the bind user", args: [ABSOLUTE_PATH] },
  "apache-config": { file: "apache-config.sh", reads: "apache2ctl -S and apache2ctl -t -D DUMP_INCLUDES", args: [] },
  "config-files": { file: "config-files.sh", reads: "configuration files under /etc/apache2 and /etc/php", args: [ABSOLUTE_PATH], rest: { max: 500 } },
  "fpm-pools": { file: "fpm-pools.sh", reads: "/etc/php/*/fpm/pool.d/*.conf", args: [] },
  "path-owners": { file: "path-owners.sh", reads: "the owner of each document root (stat, links not followed)", args: [ABSOLUTE_PATH], rest: { max: 500 } },
  accounts: { file: "accounts.sh", reads: "getent passwd and UID_MIN/UID_MAX of /etc/login.defs", args: [] },
  "account-details": { file: "account-details.sh", reads: "a user's authorized_keys (as the user), crontab -l -u, quota -w -u", args: [UNIX_USER] },
  "mariadb-read": { file: "mariadb-read.sh", reads: "databases, accounts and privileges in a READ ONLY transaction, never a password hash (lib/import/databases.ts)", args: [SOCKET_OR_DEFAULT] },
  "libvirt-read": { file: "libvirt-read.sh", reads: "virsh -r: every domain's XML, state, ARP addresses; qemu-img info -U of its disks (lib/import/guests.ts)", args: [LIBVIRT_URI_OR_DEFAULT] },
  "mail-read": { file: "mail-read.sh", reads: "postconf's virtual_* settings and their text maps, doveconf -n and Dovecot's passwd-files (lib/import/mail.ts)", args: [] },
} as const satisfies Record<string, Allowed>;

export type ReadOnlyCommand = keyof typeof READ_ONLY_COMMANDS;

/**
 * Runs one command of the allowlist on the host being imported and returns its standard
 * output; throws on a refusal or a failure. The other import modules (databases, guests) take
 * one of these, so they can read a host and nothing more.
 */
export type ReadOnlyRun = (command: ReadOnlyCommand, args?: readonly string[]) => Promise<string>;

/** A refusal of the allowlist: nothing was sent to the host. */
export class NotAllowed extends Error {}

/** Why `command args` is not on the allowlist, or undefined when it is. */
export function allowlistProblem(command: string, args: readonly string[]): string | undefined {
  const names = Object.keys(READ_ONLY_COMMANDS);
  if (!Object.hasOwn(READ_ONLY_COMMANDS, command)) {
    return `"${command.slice(0, 60)}" is not one of the import's read-only commands (${names.join(", ")}): refused, nothing was run on the host`;
  }
  const spec: Allowed = READ_ONLY_COMMANDS[command as ReadOnlyCommand];
  const max = spec.rest ? spec.rest.max : spec.args.length;
  const min = spec.args.length;
  if (args.length < min || args.length > max) return `${command} takes ${min === max ? min : `${min} to ${max}`} argument(s), not ${args.length}: refused, nothing was run on the host`;
  for (const [i, a] of args.entries()) {
    const rule = spec.args[Math.min(i, spec.args.length - 1)] as ArgRule;
    if (!rule.re.test(a)) return `${command}: argument ${i + 1} must be ${rule.what} (got ${JSON.stringify(a.slice(0, 80))}): refused, nothing was run on the host`;
  }
  return undefined;
}

const scriptCache = new Map<string, string>();

/** The script text of an allowed command (read once from lib/import/scripts/). */
export function scriptOf(command: ReadOnlyCommand): string {
  const file = READ_ONLY_COMMANDS[command].file;
  let text = scriptCache.get(file);
  if (text === undefined) {
    text = readFileSync(join(__dirname, "scripts", file), "utf8");
    scriptCache.set(file, text);
  }
  return text;
}

/** The read-only runner for one host, over the provider's SSH connection pool. */
export function readOnlyRunner(target: Target): ReadOnlyRun {
  return async (command, args = []) => {
    const bad = allowlistProblem(command, args);
    if (bad) throw new NotAllowed(`${target.name}: ${bad}`);
    const r = await run(target, scriptOf(command), { args: [...args], kind: "read", what: `import: ${command}` });
    return r.stdout;
  };
}

/**
 * The `run(script, args)` shape lib/import/databases.ts and guests.ts take, on top of the
 * allowlist: the script's text must be one of the allowlist's scripts, byte for byte, and the
 * arguments pass that entry's rules; anything else is refused like any call off the list.
 */
export function asRunScript(run: ReadOnlyRun): (script: string, args: string[]) => Promise<string> {
  return (script, args) => {
    const name = (Object.keys(READ_ONLY_COMMANDS) as ReadOnlyCommand[]).find((n) => scriptOf(n) === script);
    if (!name) return Promise.reject(new NotAllowed("a script that is not one of the import's read-only scripts: refused, nothing was run on the host"));
    return run(name, args);
  };
}

/** Splits "name NUL text NUL …" (the framing of the scripts) into pairs. */
export function framed(out: string): Array<{ name: string; text: string }> {
  const parts = out.split("\0");
  const pairs: Array<{ name: string; text: string }> = [];
  for (let i = 0; i + 1 < parts.length; i += 2) pairs.push({ name: parts[i] as string, text: parts[i + 1] as string });
  return pairs;
}
