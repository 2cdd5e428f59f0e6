import { asFailure, type Args, type Command, type ErrorClass, type Io, type OptionSpec } from "./command";

/**
 * THE table of `npm run` commands: name, summary (English and French), options, run. Help,
 * argument parsing, package.json and the docs-commands test all read it. A command's code is
 * loaded only when it runs, so `--help` and the commands that need little start fast.
 */

/**
 * A module loaded when its command runs. The path is a variable on purpose: TypeScript would ask
 * a literal import() in this CommonJS project for an extension tsx and vitest do not need.
 */
const load = <M>(path: string): Promise<M> => import(path) as Promise<M>;

/** A run that loads its module first; errors of the module's `expected` classes become one-line failures. */
const lazy =
  <M>(load: () => Promise<M>, pick: (m: M) => (args: Args, io: Io) => number | Promise<number>) =>
  async (args: Args, io: Io) => {
    const m = await load();
    try {
      return await pick(m)(args, io);
    } catch (e) {
      return asFailure(e, (m as { expected?: readonly ErrorClass[] }).expected);
    }
  };

const root: OptionSpec = { type: "string", arg: "DIR", defaultText: "the repository", help: "data tree to read" };
const json: OptionSpec = { type: "boolean", help: "machine-readable output" };
/**
 * The stack a command that reads or changes what runs acts on without --stack: the lab that is up
 * (lib/cli/stack-default.ts, the one rule). render and validate do not follow it.
 */
const UP_LAB = "the lab that is up: lab-multi after npm run lab, else lab";
const engineStack: OptionSpec = { type: "string", arg: "NAME", defaultText: UP_LAB, help: "lab, lab-multi or prod; prod takes PULUMI_BACKEND_URL and\nPULUMI_CONFIG_PASSPHRASE from the environment" };
const shard: OptionSpec = { type: "string", arg: "NAME", help: "one shard of a sharded stack (the inventory's shards:): its own stack\n<stack>.<shard>, state and lock; required when the stack is sharded" };
const lockWait: OptionSpec = { type: "string", arg: "S", defaultText: "0: say who holds it and stop; CI waits", help: "when another update holds the stack, wait up to S seconds for it" };
const diffFlag: OptionSpec = { type: "boolean", help: "show each resource's property changes" };
const adoptFlag: OptionSpec = {
  type: "boolean",
  help: "adoption, the first apply after npm run import: take over from the hosts\nwhat the state lacks (the engine's import with the provider's read), then\nchange only what git says differently, as updates; refused if anything\nwould be replaced or deleted",
};
const engineRun = (op: string) => lazy(() => load<typeof import("./engine")>("./engine"), (m) => (a: Args, io: Io) => m.runEngine(op, a, io));

export const COMMANDS: readonly Command[] = [
  {
    name: "validate",
    summary: { en: "check every data file and the whole set for consistency", fr: "vérifie chaque fichier de données et leur cohérence d'ensemble" },
    usage: ["[-- --root DIR] [--stack NAME] [--base REF]"],
    description: `Checks every YAML file (members/, zones/, Pulumi.<stack>.yaml) and the whole set for
consistency. Prints every error as file:line:col field: message (hint). Exit 0 when clean.
Warns about data files git does not know (never git add-ed): CI would not see them.
GLOBENET_LANG=fr (or a French locale) prints the messages in French.`,
    options: {
      root,
      stack: { type: "string", arg: "NAME", multiple: true, defaultText: "every Pulumi.<stack>.yaml", help: "check against this stack's inventory only" },
      base: { type: "string", arg: "REF", defaultText: "as CI, the merge base of HEAD and origin/main or main", help: "what the change is compared with: a name or address written twice is\nblamed on the file changed since REF" },
    },
    run: lazy(() => load<typeof import("./validate")>("./validate"), (m) => m.runValidate),
  },
  {
    name: "render",
    summary: { en: "write every generated config file (nothing when the data has an error)", fr: "écrit tous les fichiers de configuration générés (rien si les données ont une erreur)" },
    usage: ["-- --out DIR [--root DIR] [--stack NAME]"],
    description: `Validates, then writes every generated config file under DIR/<host>/… (apache2, php,
bind, libvirt, cloud-init, mariadb). Nothing is written if the data has any error.
Database passwords are not known here: the SQL carries a placeholder, filled at apply time.`,
    options: {
      out: { type: "string", arg: "DIR", help: "where to write (replaced as a whole; must be empty or a previous render); required" },
      root,
      stack: { type: "string", arg: "NAME", default: "lab", help: "whose inventory to use" },
    },
    run: lazy(() => load<typeof import("./render")>("./render"), (m) => m.runRender),
  },
  {
    name: "diff",
    summary: { en: "the rendered config files that a change of the data changes, by host and daemon", fr: "les fichiers de configuration générés qu'un changement des données modifie, par machine et service" },
    usage: ["[-- --base REF] [--worktree | --head REF] [--stack NAME] [--json]"],
    description: `Renders the data (members/, zones/, Pulumi.<stack>.yaml) at REF and at HEAD with the
project's own loader and renderers, and prints the unified diff of every generated file
that differs, by host and then by daemon (apache2, www, php-fpm, mariadb, bind, libvirt,
cloud-init). Zone serials and database passwords are placeholders in renders, so they
never show. Prints "no rendered change" when the generated files are identical. Before the
files, it lists what changes for members beyond them (a VPS shut off by a suspension, a
departure, a VPS resized), as the merge request note does. GLOBENET_LANG=fr (or a French
locale) prints the headings in French.`,
    positionals: "(none: name the base with --base)",
    options: {
      base: { type: "string", arg: "REF", defaultText: "as CI, the merge base of HEAD and origin/main or main", help: "the side to compare with: a branch, tag or commit" },
      head: { type: "string", arg: "REF", defaultText: "HEAD, the last commit; uncommitted edits left out", help: "the new side" },
      worktree: { type: "boolean", help: "the new side is the working tree, uncommitted edits included" },
      stack: { type: "string", arg: "NAME", defaultText: "the stack CI previews, GLOBENET_STACK of .gitlab-ci.yml: prod", help: "whose inventory to render with (also lab)" },
      root: { ...root, help: "the git checkout to read" },
      json: { type: "boolean", help: "print a JSON list of {host, daemon, path, status, diff} (status: added,\nremoved or changed), [] when nothing differs" },
    },
    footer: `Exit 0 when the comparison ran (whatever it found), 1 when a side's data has errors (each
printed as file:line:col, naming the side), 2 on a usage error.`,
    run: lazy(() => load<typeof import("./diff")>("./diff"), (m) => m.runDiff),
  },
  {
    name: "audit",
    summary: { en: "an object's story from git: each change in words, its merge and when it was applied", fr: "l'histoire d'un objet dans git : chaque changement en mots, sa fusion et sa mise en production" },
    usage: ["-- <member | zone | VPS | path> [options]", "-- --lead-time [options]"],
    description: `Tells an object's story from git: each commit that changed it (date, author, merge request,
subject) with the change in words ("site velo-libre.example: alias www.velo-libre.example
added", "VPS atelier: memory 1024 → 2048 MB", "status active → suspended"), where it was
merged, and when the stack applied it (from the engine's update history).

  <member>       a handle (velo-libre): members/velo-libre/, its VPS included
  <zone>         a zone (velo-libre.example): zones/velo-libre.example.yaml
  <VPS>          a VPS name (atelier), or any path like members/velo-libre/vps/atelier.yaml`,
    positionals: "<member | zone | VPS | path>",
    options: {
      "lead-time": { type: "boolean", help: "for every new member, site, VPS and zone: request (first commit) → merge\n→ applied, with the median per kind" },
      since: { type: "string", arg: "DATE", help: "only commits written on or after DATE (YYYY-MM-DD, UTC)" },
      stack: { type: "string", arg: "NAME", defaultText: "lab-multi when npm run lab has it up, else lab when .lab/state has one", help: "read this stack's update history" },
      history: { type: "string", arg: "FILE", help: "read the update history from FILE (saved pulumi stack history --json)" },
      ref: { type: "string", arg: "REF", default: "HEAD", help: "the branch to read" },
      root: { ...root, help: "the git checkout" },
      json,
    },
    footer: `The engine is never built for this: without the Pulumi CLI the report says "no update
history: engine not installed" and gives what git alone knows.`,
    run: lazy(() => load<typeof import("./audit")>("./audit"), (m) => m.runAudit),
  },
  {
    name: "new",
    summary: { en: "write a new member, VPS or zone file that validates as it is", fr: "écrit un nouveau fichier de membre, de VPS ou de zone, valide tel quel" },
    usage: ['-- member <handle> [--name "Full Name"] [--email ADDRESS] [--ssh-key "LINE"]', "-- vps <handle> <name> [--size small|medium|large] [--image NAME]", "-- zone <domain> --owner <handle>"],
    description: `Writes a new data file that passes npm run validate as it is, with comments saying what to
fill in (lines marked TODO), then checks the whole tree against every stack; if that check
fails, the file is removed again and the errors are printed.

  member   members/<handle>/member.yaml, status active. Without --name/--email the file has
           placeholders that validate (a TODO name, todo@<handle>.invalid) to replace.
  vps      members/<handle>/vps/<name>.yaml: the hypervisor with the most room that fits in
           every stack, the next free IPv4 and IPv6 of the pools (never a gateway, network or
           broadcast address, nor one a VPS or host uses in any stack), the inventory's first
           image, and a dns_name suggestion in a comment.
  zone     zones/<domain>.yaml owned by a member, no records yet and commented examples. An
           accented domain is written in its xn-- form, as the schema asks.`,
    positionals: "member|vps|zone <names>",
    options: {
      root: { ...root, help: "data tree to work on" },
      "dry-run": { type: "boolean", help: "print the file instead of writing it" },
      name: { type: "string", arg: '"Full Name"', help: "member: the member's name" },
      email: { type: "string", arg: "ADDRESS", help: "member: the contact address" },
      "ssh-key": { type: "string", arg: '"LINE"', multiple: true, help: "member: an OpenSSH public key line" },
      size: { type: "string", arg: "SIZE", defaultText: "small", help: "vps: small, medium or large" },
      image: { type: "string", arg: "NAME", defaultText: "the inventory's first", help: "vps: the image" },
      owner: { type: "string", arg: "HANDLE", help: "zone: the member who owns it" },
    },
    footer: `Exit 0 when written (or printed), 1 when refused (the file exists, unknown member, no room,
the data already has errors...), 2 on a usage error.`,
    run: lazy(() => load<typeof import("./new")>("./new"), (m) => m.runNew),
  },
  {
    name: "guard",
    summary: { en: "refuse a plan that deletes member data unless a commit allows it", fr: "refuse un plan qui supprime des données de membres sans autorisation dans un commit" },
    usage: ["-- [--base REF] [--stack NAME] [options]", "-- --plan FILE | --engine [options]"],
    description: `Refuses a change that would delete or replace member data (a hosting account and its home,
a site's folder, a database, a VPS and its disk) or remove more than --max-share of the
members or zones, unless a commit message of the change allows each one with a line
"Allow-Destroy: <path>", e.g. "Allow-Destroy: members/velo-libre" or
"Allow-Destroy: members/ondes/vps/stream".

By default it needs no engine: it compares the data at the base (as git holds it) with the
working tree, lists what changes for members (suspensions, VPS shut off or resized,
departures, new things) and asks for the same Allow-Destroy lines CI's note will ask for.
Set GLOBENET_LANG=fr (or a French locale) to read it in French.`,
    options: {
      base: { type: "string", arg: "REF", defaultText: "as CI, the merge base of HEAD and origin/main or main", help: "the base; Allow-Destroy lines are read from the commits REF..HEAD\n(merge commits left out)" },
      stack: { type: "string", arg: "NAME", defaultText: "the one CI previews, GLOBENET_STACK of .gitlab-ci.yml: prod", help: "the stack" },
      plan: { type: "string", arg: "FILE", help: "judge a plan from npm run preview -- --plan-json FILE (or pulumi preview --json)" },
      engine: { type: "boolean", help: "run the engine's preview of --stack and judge that plan (needs the engine)" },
      root: { ...root, help: "the checkout to read" },
      allow: { type: "string", arg: "PATH", multiple: true, help: "allow PATH, as an Allow-Destroy line would (restart/HOST, as Allow-Restart: HOST)" },
      "max-share": { type: "string", arg: "N", default: "0.1", help: "largest share of members or zones removed at once" },
      json: { type: "boolean", help: "print the verdict as JSON" },
    },
    footer: `A merge request's description never counts: it can be edited after the approvals. (npm run up
runs the same guard on its own fresh plan, reading the commits since the stack's last
successful update.)
Exit 0 when the change may go, 1 when it is blocked, 2 on a usage error.`,
    run: lazy(() => load<typeof import("./guard")>("./guard"), (m) => m.runGuard),
  },
  {
    name: "preview",
    summary: { en: "what an apply would change (the Pulumi engine; by default the stack of the lab that is up)", fr: "ce qu'une application changerait (moteur Pulumi ; par défaut la pile du lab démarré)" },
    usage: ["[-- --stack NAME] [--shard NAME] [--expect-no-changes] [--diff] [--plan-json FILE] [--refresh] [--adopt]"],
    options: {
      stack: engineStack,
      shard,
      root,
      "expect-no-changes": { type: "boolean", help: "exit 1 when anything would change" },
      diff: diffFlag,
      "plan-json": { type: "string", arg: "FILE", help: "write the steps for npm run guard" },
      refresh: { type: "boolean", help: "read the live hosts first (drift), saving nothing" },
      adopt: adoptFlag,
      "lock-wait": lockWait,
    },
    run: engineRun("preview"),
  },
  {
    name: "up",
    summary: { en: "apply: validate, render, then the engine (with the guard on any stack but the labs')", fr: "applique : valide, génère, puis le moteur (avec la garde sur toute pile sauf celles des labs)" },
    usage: ["[-- --stack NAME] [--shard NAME] [--guard] [--allow PATH] [--refresh] [--adopt] [--lock-wait S] [--cert-wait S]"],
    description: `On any stack but the labs' (lab, lab-multi; or with --guard) it first previews and runs the destructive-change
guard on that plan, and stops before changing anything if it blocks. Without --refresh it
compares git with the state only: a hand edit on a host (drift) stays until --refresh (or
npm run refresh before) shows it to the engine. A host that cannot be reached fails its own
changes (and what depends on them) while the other hosts still get theirs; the apply then
fails naming that host, and the next one catches up.
With --adopt (the first apply after npm run import) every object the state lacks is
taken over from its host instead of being created: database passwords, DNSSEC keys and
zone serials are kept; the preview shows each difference with git as an update, and the
apply is refused before changing anything if a step would replace or delete something.`,
    options: {
      stack: engineStack,
      shard,
      root,
      guard: { type: "boolean", help: "run the guard on a lab's stack too" },
      adopt: adoptFlag,
      refresh: { type: "boolean", help: "read the live hosts first: puts back what was changed by hand (drift);\nthe guard's preview reads them too" },
      allow: { type: "string", arg: "PATH", multiple: true, help: "allow deleting PATH as an Allow-Destroy line would (restart/HOST:\nlet the apply restart HOST's Apache for its MPM, as Allow-Restart: HOST);\nthe guard reads those lines from the commits since the stack's last\nsuccessful update (never from a merge request's description)" },
      "lock-wait": lockWait,
      "cert-wait": { type: "string", arg: "S", defaultText: "0: read them once", help: "then wait up to S seconds for the sites' certificates and list any\nsite without one, and why" },
      diff: diffFlag,
    },
    run: engineRun("up"),
  },
  {
    name: "refresh",
    summary: { en: "read the live hosts into the state (shows drift)", fr: "relit les machines réelles dans l'état (montre les écarts)" },
    usage: ["[-- --stack NAME] [--shard NAME]"],
    options: { stack: engineStack, shard, root, "lock-wait": lockWait },
    run: engineRun("refresh"),
  },
  {
    name: "destroy",
    summary: { en: "remove everything the stack manages (members' data archived first)", fr: "supprime tout ce que gère la pile (données des membres archivées d'abord)" },
    usage: ["-- --confirm NAME [--stack NAME] [--shard NAME]"],
    description: "With --shard, one shard's stack; also a shard the inventory no longer lists (a bucket taken\naway by a smaller buckets:), whose stack npm run shards -- move says still holds something.",
    options: { stack: engineStack, shard, root, confirm: { type: "string", arg: "NAME", help: "the stack's name again; required" }, "lock-wait": lockWait },
    run: engineRun("destroy"),
  },
  {
    name: "history",
    summary: { en: "the stack's past updates: when, what, result, commit, merge request, who", fr: "les mises à jour passées de la pile : quand, quoi, résultat, commit, demande de fusion, qui" },
    usage: ["[-- --stack NAME] [--limit N]"],
    options: { stack: engineStack, shard, root, limit: { type: "string", arg: "N", default: "20", help: "how many updates" } },
    run: engineRun("history"),
  },
  {
    name: "state",
    summary: { en: "the stacks' state: where it lives, locks, backups, restore, migration", fr: "l'état des piles : où il est, verrous, sauvegardes, restauration, migration" },
    usage: ["-- <status|backup|restore|migrate|recover> [--stack NAME] [--root DIR]"],
    description: `prod's state is in Globenet's PostgreSQL (PULUMI_BACKEND_URL, over TLS); the lab's in
.lab/state, or (stack lab) in the lab's own PostgreSQL after
npm run lab -- --topology single --state postgres.

  status                        the stack's backend, the stacks it holds, the stack's locks
  backup [--dir DIR]            write every stack of the backend to DIR/<stack>-<UTC time>.json
                                secrets encrypted, mode 0600
  restore FILE [--yes]          show what putting FILE back would change; --yes does it (the
                                current state is saved beside FILE first)
  migrate --to TARGET [--from URL]
                                move the stack to another backend (export, import, same
                                resource count, no-change preview)
  recover [--holder-gone]       after a killed update: check the lock's holder is gone,
                                remove the lock, read the hosts back if operations were left
                                pending`,
    positionals: "status|backup|restore|migrate|recover [FILE]",
    options: {
      stack: { type: "string", arg: "NAME", defaultText: UP_LAB, help: "lab, lab-multi or prod; prod takes PULUMI_BACKEND_URL (password in it or\nin PGPASSWORD) and PULUMI_CONFIG_PASSPHRASE from the environment" },
      root: { ...root, help: "data tree" },
      dir: { type: "string", arg: "DIR", default: "state-backups", help: "backup: where to write" },
      yes: { type: "boolean", help: "restore: do it (without: only show what would change)" },
      to: { type: "string", arg: "TARGET", help: "migrate: lab-postgres, lab-file (lab only) or a URL\n(postgres://USER@HOST:5432/DB?sslmode=verify-full)" },
      from: { type: "string", arg: "URL", help: "migrate: the backend to move from" },
      "holder-gone": { type: "boolean", help: "recover: a holder on another machine; say so only once you checked\nnothing runs there any more" },
    },
    run: lazy(() => load<typeof import("./state")>("./state"), (m) => m.runState),
  },
  {
    name: "shards",
    summary: { en: "a sharded stack's shards: list, touched by a change, CI's per-shard apply, moving objects", fr: "les fragments d'une pile fragmentée : liste, touchés par un changement, application par fragment en CI, déplacement d'objets" },
    usage: ["-- <list|touched|pipeline|move> [--stack NAME] [--base REV] [--out FILE] [--yes]"],
    description: `A stack whose inventory has shards: is applied as one stack per shard, <stack>.<shard>
(docs/architecture.md, "Sharded stacks").

  list                  each shard: its stack, hosts and what it holds
  touched --base REV    the shards whose objects differ between REV and the data tree
  pipeline --out FILE   CI's child pipeline: one apply job per shard touched since that shard's
                        last successful update (or since --base REV), resource_group <stack>-<shard>;
                        a shard waits for those its members move to, a bucket for a new host's shard
  move [--yes]          after a host moved to another shard in the inventory (or buckets: changed):
                        the objects each shard's preview deletes and another's creates, a shard no
                        longer listed counting all its state as deleted; --yes moves their state
                        (pulumi state move: ids kept, nothing recreated) and says what such a shard
                        still holds (npm run destroy -- --shard NAME removes it)`,
    positionals: "list|touched|pipeline|move",
    options: {
      stack: engineStack,
      root,
      base: { type: "string", arg: "REV", help: "touched, pipeline: the commit to compare with" },
      out: { type: "string", arg: "FILE", help: "pipeline: where to write the child pipeline" },
      yes: { type: "boolean", help: "move: do it (without: only show what would move)" },
    },
    run: lazy(() => load<typeof import("./shards")>("./shards"), (m) => m.runShards),
  },
  {
    name: "lab",
    summary: { en: "the whole of Globenet on this machine (as root): up, down, status", fr: "tout Globenet sur cette machine (en root) : up, down, status" },
    usage: ["[-- up|down|status] [options]"],
    description: `Real OpenSSH, Apache, PHP-FPM, MariaDB, BIND and libvirt/QEMU started by hand (Debian 12, as
root), and the repository's members/ and zones/ applied to them through the project's engine.
By default Globenet's own topology (stack lab-multi, Pulumi.lab-multi.yaml): one network
namespace per host at its prod address, each with its own sshd and only its roles' daemons
(web, db, ns1 and its secondary ns2, hypervisors, backup). --topology single puts every host on
127.0.0.1 instead (stack lab, Pulumi.lab.yaml). The commands that act on a stack (preview, up,
status, backup…) then default to the stack of the lab that is up.

  up (default)     install missing Debian packages, make the lab keys, prepare the deploy
                   user, build the hosts' namespaces (multi), start each daemon that is not
                   running, apply the stack, and report what was created and how long each
                   phase took
  down             destroy the stack (the provider archives homes, databases and disks
                   first), stop the daemons the lab started (by their recorded PIDs, never
                   others) and put back the machine files it changed (.lab/backup/)
  status           which daemons run, the stack's resources, commands to look around

Run-time files live in .lab/ (git-ignored): ssh/ keys, run/ PIDs, log/ daemon output,
backup/ originals of changed machine files, state/ the stacks' state, topology.json which
topology is up (multi), hosts/ each lab host's own folders (multi).`,
    positionals: "up|down|status",
    options: {
      "skip-packages": { type: "boolean", help: "up: do not run scripts/ensure-debs.sh" },
      state: { type: "string", arg: "file|postgres", help: "up, with --topology single: keep stack lab's state in a PostgreSQL of the\nlab's own (started on 127.0.0.1 like the other daemons; the state is\nmigrated there); the choice stays (.lab/state-backend.json) until\n--state file. The multi-host lab keeps lab-multi's in .lab/state" },
      force: { type: "boolean", help: "down: stop and restore even when the destroy fails" },
      topology: { type: "string", arg: "single|multi", defaultText: "multi", help: "up: multi (one network namespace per host with its own sshd and daemons,\nprod's addresses, stack lab-multi) or single (every host on 127.0.0.1,\nstack lab); down and status act on whichever is up" },
    },
    run: lazy(() => load<typeof import("./lab")>("./lab"), (m) => m.runLab),
  },
  {
    name: "status",
    summary: { en: "read the live hosts: certificates, DNSSEC signing state, backups, members' disk and database use, mail, VPS states, or what fires now", fr: "lit les machines réelles : certificats, état de signature DNSSEC, sauvegardes, place prise par les adhérents (disque et bases), courriel, état des VPS, ou les alertes en cours" },
    usage: ["-- certs|dnssec|backups|usage|mail|vps|health [options]", "-- slow-queries <member> [--days N]"],
    description: `Reads the live hosts of a stack over SSH (the deploy key: GLOBENET_SSH_KEY_FILE or an agent;
the lab's own key for the lab stack):
  certs    each site's certificate on its web host (mod_md's store): issuer, names, not-after
           and days left; flags any under 20 days, any missing, and mod_md's last error
  dnssec   each zone's signing state on the primary: policy, keys and their ages, DS records
  backups  each protected host's last backup of each home, database, VPS disk and folder, its
           last run and repository check: age, duration, size; flags any older than the
           inventory's backup.max_age_hours, failed, or never made
  usage    each member's home on its web host (bytes and inodes, against its disk_quota_mb and
           inode_quota) and each of its databases' size; flags homes at 90 % of either quota or
           more, a missing home or database
  mail     per member's mail domain, MX, SPF, DKIM and DMARC as the zone's primary serves them
           beside what git derives (DKIM: from the public half of the key on the mail host);
           each mailbox's size against its quota (doveadm); the mail queue and each deferred
           message with its reason (postqueue -j); flags records that differ, mailboxes at 90 %
           of their quota or more, and deferred mail
  vps      each VPS's state as its hypervisor reports it (virsh domstate): flags a guest that is
           not running (or, for a suspended member, not shut off), or that its hypervisor lacks
  slow-queries <member>
           the member's queries over the inventory's mariadb.slow_query_seconds in the last
           --days (default 7), from the database hosts' slow query log, grouped by shape
           (literals become ?): how often, total and longest time, which database
  health   what fires now, from Alertmanager's API on the monitor host (port 9093): each alert
           per member and per host, with what it is about and since when`,
    positionals: "certs|dnssec|backups|usage|mail|vps|health|slow-queries [member]",
    options: {
      stack: { type: "string", arg: "NAME", defaultText: UP_LAB, help: "stack" },
      root,
      wait: { type: "string", arg: "SEC", default: "0", help: "certs: wait up to SEC seconds for every certificate to be live" },
      days: { type: "string", arg: "N", default: "7", help: "slow-queries: how many days of the log" },
      json,
    },
    footer: "Exit 0 when everything is live and signed as git says, 1 when something needs attention.",
    run: lazy(() => load<typeof import("./status")>("./status"), (m) => m.runStatus),
  },
  {
    name: "backup",
    summary: { en: "list a member's, VPS's, zone's or host's backups, run them now, restore a home, a database or a VPS disk", fr: "liste les sauvegardes d'un membre, d'un VPS, d'une zone ou d'un hôte, les lance, restaure un dossier personnel, une base ou le disque d'un VPS" },
    usage: [
      "-- list <member | member/vps | zone | host> [--stack NAME]",
      "-- run [--host NAME] [--stack NAME]",
      "-- restore <member> [<path in the home>] [--at ARCHIVE] [--in-place]",
      "-- restore <member>/<vps> [--at ARCHIVE] [--replace]",
      "-- restore-db <database> [--at ARCHIVE] [--replace]",
      "-- export-key <host> [--to FILE] [--stack NAME]",
      "-- purge-departure <handle> [--yes] [--stack NAME]",
    ],
    description: `Backups are BorgBackup archives on the backup host, one repository per protected host
(docs/architecture.md, "Backups"); this runs globenet-backup on the protected host over SSH.

  list        the archives of a member (home, databases, VPS disks), of a VPS, of a zone (the
              DNSSEC keys) or of a host, oldest first, named <kind>--<name>--<UTC time>; a
              member's home is in its host's homes--<host>--… archives (every home of a run)
  run         back up now (every protected host, or --host), then prune
  restore     a member's whole home, or one file or folder of it (a path inside the home), from
              the newest archive holding it or --at ARCHIVE (only that member's path comes
              out of a homes archive): into a root-only staging folder on the web
              host by default; --in-place copies it into the home as the member (owners and
              modes as they were; never as root into a folder the member controls)
              <member>/<vps>: the VPS disk, as a qcow2 image in a root-only staging folder on
              the hypervisor; --replace stops the guest, keeps its disk aside
              (<disk>.before-restore-<time>), puts the restored one in place and starts it
  restore-db  a database, into a new database <name>_restored_<time> by default; --replace
              loads it into the database itself after keeping what is there in a dump
  export-key  a protected host's repository passphrase and borg's paper key, with what to do
              with them (print twice, one for each of the two volunteers, keep offline): to a
              terminal only, or --to a new 0600 file outside the repository
  purge-departure
              a departed member's departure archives on the hosts (home, crontab, sites,
              databases, VPS disks): listed; removed with --yes. Only once git declares it:
              purge_archives: true in its file, committed with "Allow-Destroy:
              departures/<handle>"; the backup repository keeps its copies for the retention`,
    positionals: "list|run|restore|restore-db|export-key|purge-departure <what> [<path>]",
    options: {
      stack: { type: "string", arg: "NAME", defaultText: UP_LAB, help: "stack" },
      root,
      host: { type: "string", arg: "NAME", help: "run: only this protected host" },
      at: { type: "string", arg: "ARCHIVE", defaultText: "the newest", help: "restore: this archive (npm run backup -- list shows them)" },
      "in-place": { type: "boolean", help: "restore: into the member's home itself, as the member" },
      replace: { type: "boolean", help: "restore-db: into the database itself (what is there is dumped first); restore <member>/<vps>: in place of the guest's disk (the old one is kept aside)" },
      yes: { type: "boolean", help: "purge-departure: remove the files (without: only list them)" },
      to: { type: "string", arg: "FILE", help: "export-key: write to this new file (made 0600; never an existing file,\nnever inside a git checkout) instead of the terminal" },
    },
    footer: "Exit 0 when done, 1 when the host refused or failed (its message is shown), 2 on a usage error.",
    run: lazy(() => load<typeof import("./backup")>("./backup"), (m) => m.runBackup),
  },
  {
    name: "dnssec",
    summary: { en: "a zone's DS record for the registrar, and telling BIND when it is published or withdrawn", fr: "l'enregistrement DS d'une zone pour le registrar, et dire à BIND qu'il est publié ou retiré" },
    usage: ["-- ds|published|withdrawn <zone> [--stack NAME] [--root DIR]"],
    description: `  ds <zone>          prints the DS record(s) of the zone's key-signing key, as BIND holds it on
                     the primary: what to give the registrar (SHA-256 digest)
  published <zone>   tell BIND the registrar now publishes that DS (rndc dnssec -checkds published)
  withdrawn <zone>   tell BIND the registrar no longer has it (after dnssec: false, before BIND
                     removes the keys; rndc dnssec -checkds withdrawn)

The deploy key: GLOBENET_SSH_KEY_FILE or an agent (the lab's own for lab).`,
    positionals: "ds|published|withdrawn <zone>",
    options: { stack: { type: "string", arg: "NAME", defaultText: UP_LAB, help: "stack" }, root },
    run: lazy(() => load<typeof import("./dnssec")>("./dnssec"), (m) => m.runDnssec),
  },
  {
    name: "monitor",
    summary: { en: "the monitor host's alert bridge: each Alertmanager alert opens, updates or closes a GitLab issue", fr: "le relais d'alertes de l'hôte de supervision : chaque alerte d'Alertmanager ouvre, met à jour ou ferme un ticket GitLab" },
    usage: ["-- bridge [--listen 127.0.0.1:9099]"],
    description: `  bridge   receives Alertmanager's webhook (POST /alerts) on the loopback and keeps one GitLab
           issue per alert (label alert): opened when it fires, updated while it fires, closed
           when it is resolved. The issue names the member and the object (site, zone, VPS,
           host). GitLab from CI_API_V4_URL, CI_PROJECT_ID and GITLAB_API_TOKEN (a project
           access token, api scope), as the CI jobs take it.`,
    positionals: "bridge",
    options: { listen: { type: "string", arg: "ADDR:PORT", default: "127.0.0.1:9099", help: "where Alertmanager's webhook_configs url points (loopback only)" } },
    run: lazy(() => load<typeof import("./monitor")>("./monitor"), (m) => m.runMonitor),
  },
  {
    name: "import",
    summary: { en: "read a live host (zones, sites, accounts, databases, guests, mail) into data files to review, read-only", fr: "lit une machine en service (zones, sites, comptes, bases, invités, courriel) et en écrit les fichiers de données à relire, sans rien y changer" },
    usage: ["-- zones|sites|accounts|databases|guests|mail|all --host NAME [--stack NAME] [--out DIR] [--map FILE] [--force]"],
    description: `Reads a host that already runs (configured by hand) over SSH, read-only, and writes the data
files a volunteer then reviews. Only the allowlisted read-only scripts of lib/import/scripts/
run on the host (named-checkconf -p -x, zone files read as bind, apache2ctl -S, the vhost and
PHP-FPM pool files, getent passwd, authorized_keys read as the user, crontab -l, quota, a
read-only MariaDB session, virsh -r, postconf, doveconf and the mail maps and passwd-files).

  zones      the primary zones the running BIND serves → zones/<zone>.yaml (every record the
             schema holds; derived records such as DNSSEC, SOA and apex NS left out)
  sites      Apache's virtual hosts → members' sites: (names, aliases, redirects, PHP version,
             TLS), grouped by owner (the PHP-FPM pool's user, else the document root's owner)
  accounts   login accounts (UID_MIN..UID_MAX of login.defs) → members/<handle>/member.yaml
             with their SSH keys and quota; crontabs stay on the host
  databases  MariaDB databases, accounts and grants (a READ ONLY session; never a password
             hash) → members' databases: (written into the members this run writes, else
             printed to add to the member's file)
  guests     libvirt domains (virsh -r, qemu-img info -U) → members/<handle>/vps/<name>.yaml
  mail       Postfix's virtual mailbox domains, mailboxes (hash and quota from Dovecot's
             passwd-file) and aliases → members' mail: blocks, by the owner of each domain's zone
             in the data, printed to add to the member's file; a password in a scheme the
             schema refuses is never written (the member sets a new one)
  all        what the host's roles hold: zones (dns-primary), sites and accounts (web),
             databases (db), guests (hypervisor), mail (mail)

Every guess carries a "# TODO(import): …" comment that npm run validate refuses until a
volunteer has checked it and removed the comment. What cannot be expressed is printed with
the host's file and line, never dropped silently. --map names what the import cannot decide
(which member owns an account, a site, a zone, a database or a guest; a new handle): see
lib/schema/import-map.ts.`,
    positionals: "zones|sites|accounts|databases|guests|mail|all",
    options: {
      host: { type: "string", arg: "NAME", help: "the inventory host to read (Pulumi.<stack>.yaml); required" },
      stack: { type: "string", arg: "NAME", default: "lab", help: "whose inventory says how to reach the host" },
      root,
      out: { type: "string", arg: "DIR", defaultText: "--root", help: "where to write members/ and zones/" },
      map: { type: "string", arg: "FILE", help: "the mapping file (import-map.yaml): owners, handles, names" },
      force: { type: "boolean", help: "replace files that already exist (default: keep them)" },
    },
    footer: "Exit 0 when the host was read (whatever it found), 1 when it could not be, 2 on a usage error.",
    run: lazy(() => load<typeof import("./import")>("./import"), (m) => m.runImport),
  },
  {
    name: "bench",
    summary: { en: "time validate and render, the engine, a night's backup or the mail set on N synthetic members, or a new member's time to service on the lab", fr: "chronomètre validate et render, le moteur, une nuit de sauvegarde ou la configuration mail sur N membres synthétiques, ou la mise en service d'un nouvel adhérent sur le lab" },
    usage: ["-- data [--members N] [--zones N] [--vps N] [--runs N] [--keep]", "-- engine [--members N,N…] [--sharded K [--buckets B]] [--keep]", "-- backup [--members N] [--mb M] [--keep]", "-- mail [--members N] [--mailboxes M] [--keep]", "-- service [--json] [--keep]", "-- portal [--runs N] [--live] [--stack NAME]", "-- generate --out DIR [--members N]"],
    description: `data: writes N synthetic members (default 10000; --zones, default N; --vps, default
N/10) to a temporary tree, then times in this process the floor (reading every YAML file and
\`yaml.parse\` on it), the load (parse, schemas), every check and the render in memory, each
after a full GC, best of --runs (default 2); each beside the floor, and the peak RSS.
engine: for each N (default 100,1000), the no-op \`preview\` of the real program over N
synthetic members beside a bare program of as many trivial resources (the engine's floor),
same provider and file backend, previewed in alternated rounds (each round one preview of
each, the first moving by one): the best against the best and the median of the rounds' own
ratios, the target met only when both are. With --sharded K (one N): K web shards and a core one;
web1's and core's previews beside that floor and beside their same-shape floor (the shard's
own resources replayed on the trivial type), then two one-member changes after CI's index
step; with --buckets B, web1's members split by hash into B shards, the first bucket's
shard run first, then web1's (its sets), then core. Runs the engine with GLOBENET_PROVIDER_DRY_RUN=1: the
provider contacts no host (stack "bench" only).
backup: N members (default 150) with M MB of random files each (default 20), one BorgBackup
archive per member into a local encrypted repository as the hosts make them: a full run, then
an incremental run after 1 % of the files changed, beside the floor (reading every byte once);
times and bytes sent. Needs borg (Debian package borgbackup).
mail: N members (default 150) with a domain of M mailboxes each (default 5): the mail set
rendered and applied to this machine's Postfix and Dovecot by the file set's own script (as
root, on a machine without a mail service: loopback, throwaway ports, Debian's files put back),
beside the set's checks alone; then one mailbox added, beside an apply of the same files: which
compiled maps were replaced, which daemon processes kept their PID, how soon the running Postfix
accepts the new address; and a message size change, which does reload Postfix.
service: on the running single-address lab (npm run lab -- --topology single; as root), applies
one new member with a site, a database and a VPS from a copy of the lab's data and prints each
phase from the start of the apply: engine start, plan, each resource's step (the engine's
events), guest defined and running, the member's SSH login accepted, the site over HTTPS with
its certificate; beside the floors measured in the same run (an apply with nothing to change; a
bare boot of the same image with the same QEMU settings to the same login). The member then
leaves by the departure path (status: departed, applied) and its archives are removed. About 6
minutes with TCG guests. --json prints every figure and the raw timeline.
portal: the member portal on 127.0.0.1 over HTTPS (lab CA), one member logged in, the time of
its dashboard over --runs requests (default 20), median and max, beside the 1 s target; the
data only, or with --live the status views' reads of the lab's hosts at each page (the lab
portal's way), then as deployed: the runner's snapshot of every active member timed, and the
dashboard served from that file. Exit 1 when the page members get (the data only, or the
snapshot's) is over 1 s.
generate: only writes the tree, to try the commands by hand.`,
    positionals: "data|engine|backup|mail|service|portal|generate",
    options: {
      members: { type: "string", arg: "N", help: "how many synthetic members (engine: a comma-separated list)" },
      json: { type: "boolean", help: "service: the figures and the timeline as JSON" },
      mb: { type: "string", arg: "M", help: "backup: MB of files per member (default 20)" },
      zones: { type: "string", arg: "N", help: "data: members' forward zones (default: one per member)" },
      vps: { type: "string", arg: "N", help: "data: VPS in all (default: one member in 10)" },
      runs: { type: "string", arg: "N", help: "data: how many times each phase runs; the best is kept (default 2);\nportal: dashboard requests (default 20)" },
      live: { type: "boolean", help: "portal: with the live reads of the hosts (the lab must be up)" },
      stack: { type: "string", arg: "NAME", defaultText: UP_LAB, help: "portal: whose data" },
      mailboxes: { type: "string", arg: "M", help: "mail: mailboxes per member's domain (default 5)" },
      out: { type: "string", arg: "DIR", help: "generate: where to write the tree; required" },
      sharded: { type: "string", arg: "K", help: "engine: K web hosts with one shard each, and a core shard: each shard's no-op\npreview beside the floor, then two one-member changes (sites only; sites and\na VPS), each after CI's one whole validation (docs/architecture.md,\n\"Sharded stacks\")" },
      buckets: { type: "string", arg: "B", help: "engine with --sharded: web1's members split by hash into B shards (docs/architecture.md,\n\"Members split by hash\")" },
      keep: { type: "boolean", help: "keep the temporary tree (service: the data copy)" },
    },
    run: lazy(() => load<typeof import("./bench")>("./bench"), (m) => m.runBench),
  },
  {
    name: "portal",
    summary: { en: "the member portal on this machine: each member logs in and sees their own services (HTTPS, lab CA)", fr: "l'espace adhérent sur cette machine : chaque adhérent se connecte et voit ses propres services (HTTPS, CA du lab)" },
    usage: ["[-- --port N] [--stack NAME] [--live] [--requests BRANCH]", "-- --issue <member>", "-- --serve --stack NAME --listen 127.0.0.1:PORT --state DIR [--requests BRANCH]", "-- --snapshot --stack NAME [--out FILE]"],
    description: `Starts the member portal (lib/portal) on https://localhost:PORT/ with a certificate from the
lab's CA (.lab/portal/ca/ca.pem), and prints its URL. A member logs in with the portal password
of their handle and sees only their own sites, databases (where the credentials are),
mailboxes and quotas, and VPS, in French or English. Members without a password get one at
start, written to .lab/portal/passwords.txt (0600); --issue <member> makes a new one and
prints it once. Only scrypt hashes are kept (.lab/portal/credentials.json, 0600). Five wrong
passwords lock a name for 15 minutes. With --requests, a member asks for a mail alias in a form
and the portal opens a merge request (validated first; French description, Requested-by:);
the member's page lists their requests with their merge-request state. The history of each
member's file is read from this checkout's git (at BRANCH, or HEAD; commits link to
CI_PROJECT_URL when set). Runs until Ctrl-C; kill -HUP reloads the data.
--serve is how the apply's systemd unit runs it on the web host (any stack, prod included), from
the bundle the apply ships (lib/cli/portal-main.ts; --root is then the shipped data repository):
plain HTTP on a loopback address behind the host's Apache (which terminates HTTPS), the
members' password hashes from DIR/credentials.json (written by the apply), sessions and
lockouts kept in DIR/store.json across restarts, and the members' live figures from
DIR/live.json (with the time they were read; none shown when over an hour old or absent).
--snapshot is what the protected runner's portal-live schedule runs every 10 minutes: every
active member's certificates, disk use, mailboxes and last backups, read in one pass over the
stack's hosts by the status views' code, delivered to the portal's host as live.json (root's,
readable by the portal's user only; no secret in it), or written to --out FILE instead. The
portal itself holds no key to any host. Exit 1 when a part could not be read (the log says why).`,
    options: {
      port: { type: "string", arg: "N", default: "8443", help: "port on 127.0.0.1 (0: any free one)" },
      serve: { type: "boolean", help: "run as deployed: behind Apache on --listen, state in --state (no lab CA, no password issued)" },
      listen: { type: "string", arg: "ADDR:PORT", help: "--serve: the loopback address and port Apache proxies to (127.0.0.1 or [::1])" },
      state: { type: "string", arg: "DIR", help: "--serve: the portal's state folder (credentials.json from the apply, store.json)" },
      stack: { type: "string", arg: "NAME", defaultText: UP_LAB, help: "whose data (a lab stack; with --serve or --snapshot any stack)" },
      root,
      live: { type: "boolean", help: "read certificates, disk and database use, mailbox sizes from the hosts\n(the status views' code over SSH; the lab must be up)" },
      issue: { type: "string", arg: "MEMBER", help: "make a new portal password for MEMBER, print it once, and stop" },
      snapshot: { type: "boolean", help: "read every active member's live figures from the hosts in one pass and deliver\nthem to the portal's host (its state's live.json), then stop" },
      out: { type: "string", arg: "FILE", help: "--snapshot: write the snapshot to FILE on this machine instead of delivering it" },
      requests: { type: "string", arg: "BRANCH", help: "open the request forms: a member's request becomes a merge request into\nBRANCH through GitLab's API (CI_API_V4_URL, CI_PROJECT_ID and the bot's\nGITLAB_API_TOKEN from the environment); never a change on the servers" },
    },
    run: lazy(() => load<typeof import("./portal")>("./portal"), (m) => m.runPortal),
  },
  {
    name: "engine",
    summary: { en: "build or find the pinned Pulumi CLI once (~/.cache/globenet-infra)", fr: "construit ou trouve une fois le CLI Pulumi attendu (~/.cache/globenet-infra)" },
    usage: [""],
    description: "The preview, up, refresh, destroy, history and state commands build it themselves when missing;\nthis only does it ahead (the first build takes minutes).",
    options: {},
    run: lazy(
      () => load<typeof import("../engine/toolchain")>("../engine/toolchain"),
      (m) => (_a: Args, io: Io) => {
        io.out(`Pulumi CLI ready in ${m.ensureEngine()}`);
        return 0;
      },
    ),
  },
];

/** The command named `name`, or undefined. */
export function findCommand(name: string): Command | undefined {
  return COMMANDS.find((c) => c.name === name);
}
