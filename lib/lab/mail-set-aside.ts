/**
 * `npm run lab -- down --force` when the destroy failed: the mail file set is still live, so
 * Debian's Postfix, Dovecot and OpenDKIM configuration files are links into it and the next
 * test or lab on this machine finds "a mail set" and (rightly) refuses to replace it. The lab
 * made that set, so the forced down gives Debian its files back (the <file>.pre-globenet the
 * set kept) and moves the set, DKIM keys included, into the lab's leftovers folder: set aside
 * for a volunteer to look at, never deleted (keys are data).
 */
import { existsSync, lstatSync, mkdirSync, readlinkSync, renameSync } from "node:fs";
import { join } from "node:path";
import type { LabPaths } from "./paths";
import { run, why } from "../base/proc";

/** The set's root and the Debian files the set links into it (provider/scripts/file-set/file-set.sh MAIL_LINKS). */
export const MAIL_SET_ROOT = "/etc/globenet/mail";
export const MAIL_SET_LINKS = ["/etc/postfix/main.cf", "/etc/postfix/master.cf", "/etc/dovecot/dovecot.conf", "/etc/opendkim.conf", "/etc/default/postsrsd"];

function isLinkInto(path: string, root: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink() && readlinkSync(path).startsWith(`${root}/`);
  } catch {
    return false;
  }
}

/** Lines for the volunteer: what was put back and where the set went. */
export function setMailSetAside(p: LabPaths, root = MAIL_SET_ROOT, links = MAIL_SET_LINKS, now = new Date()): string[] {
  const said: string[] = [];
  for (const live of links) {
    if (!isLinkInto(live, root)) continue;
    if (!existsSync(`${live}.pre-globenet`)) {
      said.push(`${live} still links into ${root}, and there is no ${live}.pre-globenet to put back: reinstall its package's file by hand`);
      continue;
    }
    renameSync(`${live}.pre-globenet`, live);
    said.push(`put back Debian's ${live}`);
  }
  if (existsSync(root)) {
    const dir = join(p.lab, "leftovers");
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const to = join(dir, `mail-${now.toISOString().replace(/[-:]/g, "").replace(/\..*/, "")}`);
    // mv, not rename(2): the checkout and /etc may be different file systems.
    const r = run("mv", ["-T", "--", root, to]);
    if (r.status !== 0) {
      said.push(`could not move ${root} to ${to} (${why(r)}): move it aside by hand before the next lab`);
      return said;
    }
    said.push(`moved the mail set ${root} (its DKIM keys too) to ${to}: the destroy did not remove it; look at it, then delete it`);
  }
  return said;
}
