import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "./helpers/temp-dir";
import { REPO_ROOT } from "../lib/base/repo";
import { exportDestination, keyExportSheet } from "../lib/cli/backup-export-key";
import { captureIo } from "../lib/cli/command";
import { main } from "../lib/cli/main";
import { baseFiles, HOST_KEY, writeTree } from "./helpers/data-tree";

/*
 * Unit tier: where `npm run backup -- export-key` may write the passphrase and paper key
 * (lib/cli/backup-export-key.ts), and the sheet's text. The export itself, with real borg, is
 * in tests/provider-backup.test.ts.
 */

const PASS = "Zk3_q-9xPassphraseOfFortyThreeCharacters_ab";
const PAPER = "BORG PAPER KEY v1\nid: 20 / 1a2b3c 4d5e6f 708192 / 0a1b2c 3d4e5f 607182 - 9f8e\n 1: 86a961 6c676f 726974 686d61 736861 323536 - 5b2c";

describe("export-key: where the secrets may go", () => {
  const tmp = tempDir("globenet-export-");
  const refused: [string, string | undefined, boolean, NodeJS.ProcessEnv, RegExp][] = [
    ["no --to, output not a terminal (a pipe, a log)", undefined, false, {}, /not a terminal/],
    ["no --to, a terminal but CI=true", undefined, true, { CI: "true" }, /not a terminal \(or CI=true\)/],
    ["--to an existing file", join(tmp, "exists.txt"), true, {}, /exists already/],
    ["--to a link (even dangling)", join(tmp, "link.txt"), true, {}, /exists already/],
    ["--to inside the repository checkout", join(REPO_ROOT, "key.txt"), true, {}, /inside the repository checkout/],
    ["--to deep inside another git checkout", join(tmp, "other/sub/key.txt"), true, {}, /inside the git checkout .*other/],
    ["--to a folder that does not exist", join(tmp, "nope/key.txt"), true, {}, /does not exist/],
  ];
  writeFileSync(join(tmp, "exists.txt"), "");
  symlinkSync(join(tmp, "nowhere"), join(tmp, "link.txt"));
  mkdirSync(join(tmp, "other/.git"), { recursive: true });
  mkdirSync(join(tmp, "other/sub"), { recursive: true });

  for (const [what, to, tty, env, msg] of refused) {
    it(`refused: ${what}`, () => {
      expect(() => exportDestination(to, tty, env)).toThrow(msg);
    });
  }

  it("allowed: a terminal outside CI; a new file outside any checkout, even from CI or a pipe", () => {
    expect(exportDestination(undefined, true, {})).toBeUndefined();
    expect(exportDestination(undefined, true, { CI: "false" })).toBeUndefined();
    expect(exportDestination(join(tmp, "new.txt"), false, { CI: "true" })).toBe(join(tmp, "new.txt"));
  });

  it("the command refuses before reaching any host when its output is not a terminal", async () => {
    const inv = (baseFiles()["Pulumi.test.yaml"] as string).replace("    hosts:\n", "    backup: {}\n    hosts:\n") +
      `      bk1:\n        roles: [backup]\n        fqdn: bk1.globenet.example\n        address: 198.51.100.80\n        ssh: { user: globenet-deploy, host_key: "${HOST_KEY}" }\n`;
    const root = writeTree({ "Pulumi.test.yaml": inv });
    const io = captureIo();
    const code = await main(["backup", "export-key", "web1", "--stack", "test", "--root", root], io);
    expect(code).toBe(2);
    expect(io.stderr).toContain("refusing to print the backup passphrase and key");
    expect(io.stdout).toBe("");
    // Not a protected host: said with the list of those that are.
    const other = captureIo();
    expect(await main(["backup", "export-key", "bk1", "--stack", "test", "--root", root], other)).toBe(2);
    expect(other.stderr).toContain("(hv1, ns1, web1)");
  });
});

describe("export-key: the sheet", () => {
  const e = { host: "web1", repository: "ssh://globenet-backup@bk1.globenet.example:22/srv/globenet-backup/web1", passphrase: PASS, paper: PAPER };
  it.each([
    ["en", "Passphrase (one line, type it exactly):", "two volunteers", "Never in git, a chat"],
    ["fr", "Phrase de passe (une ligne, à taper telle quelle) :", "deux bénévoles", "Jamais dans git, une messagerie"],
  ] as const)("%s: the passphrase, the paper key, the repository, and what to do", (lang, label, two, never) => {
    const s = keyExportSheet(e, lang, new Date("2026-12-04T14:00:00.123Z"));
    expect(s).toContain(`${label}\n  ${PASS}\n`);
    expect(s).toContain(PAPER);
    expect(s).toContain(e.repository);
    expect(s).toContain("2026-12-04T14:00:00Z");
    expect(s).toContain(two);
    expect(s).toContain(never);
    expect(s).toContain("borg key import --paper");
  });
});
