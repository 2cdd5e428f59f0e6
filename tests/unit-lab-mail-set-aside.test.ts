import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { MAIL_SET_LINKS, setMailSetAside } from "../lib/lab/mail-set-aside";
import { REPO_ROOT } from "../lib/base/repo";
import type { LabPaths } from "../lib/lab/paths";

describe("a forced lab down after a failed destroy sets the mail set aside", () => {
  let dir = "";
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function fixture() {
    dir = mkdtempSync(join(tmpdir(), "mail-aside-"));
    const root = join(dir, "etc/globenet/mail");
    mkdirSync(join(root, "conf/postfix"), { recursive: true });
    mkdirSync(join(root, "dkim/g1"), { recursive: true });
    writeFileSync(join(root, "conf/postfix/main.cf"), "# the set's\n");
    writeFileSync(join(root, "dkim/g1/example.private"), "key\n");
    mkdirSync(join(dir, "etc/postfix"), { recursive: true });
    const main = join(dir, "etc/postfix/main.cf");
    const master = join(dir, "etc/postfix/master.cf");
    const other = join(dir, "etc/postfix/other.cf");
    writeFileSync(`${main}.pre-globenet`, "# Debian's\n");
    symlinkSync(join(root, "conf/postfix/main.cf"), main);
    symlinkSync(join(root, "conf/postfix/master.cf"), master);
    symlinkSync("/elsewhere/other.cf", other);
    const p = { lab: join(dir, ".lab") } as LabPaths;
    return { root, main, master, other, p };
  }

  it("puts Debian's file back, says which link has no original, leaves foreign links, and moves the set (keys kept) into .lab/leftovers", () => {
    const f = fixture();
    const said = setMailSetAside(f.p, f.root, [f.main, f.master, f.other], new Date("2026-12-05T06:00:00Z"));
    expect(lstatSync(f.main).isSymbolicLink()).toBe(false);
    expect(readFileSync(f.main, "utf8")).toBe("# Debian's\n");
    expect(said.join("\n")).toContain(`${f.master} still links into ${f.root}`);
    expect(lstatSync(f.other).isSymbolicLink()).toBe(true);
    expect(existsSync(f.root)).toBe(false);
    const moved = join(f.p.lab, "leftovers", "mail-20261205T060000");
    expect(readdirSync(join(f.p.lab, "leftovers"))).toEqual(["mail-20261205T060000"]);
    expect(readFileSync(join(moved, "dkim/g1/example.private"), "utf8")).toBe("key\n");
    expect(said.at(-1)).toContain(moved);
  });

  it("does nothing where there is no set", () => {
    const f = fixture();
    rmSync(f.root, { recursive: true });
    rmSync(f.main);
    rmSync(f.master);
    expect(setMailSetAside(f.p, f.root, [f.main, f.master])).toEqual([]);
    expect(existsSync(join(f.p.lab, "leftovers"))).toBe(false);
  });

  it("puts back the same files the mail set links (file-set.sh's MAIL_LINKS)", () => {
    const sh = readFileSync(join(REPO_ROOT, "provider", "scripts", "file-set", "file-set.sh"), "utf8");
    const line = /^MAIL_LINKS=\(([^)]*)\)$/m.exec(sh)?.[1] ?? "";
    expect(line.split(/\s+/).filter(Boolean).map((l) => l.split(":")[0])).toEqual(MAIL_SET_LINKS);
  });
});
