import * as pulumi from "@pulumi/pulumi";
import type { DatabaseModel, MemberModel, SiteModel, VpsModel } from "../lib/model/types";
import { renderCronBlock } from "../lib/render/crontab";
import { Database } from "./database";
import type { SshdFacts } from "../provider/resources/account";
import { HostingAccount } from "./hosting-account";
import { MemberCrontab } from "./member-crontab";
import type { Target } from "./target";
import { Vps } from "./vps";
import { guestInputs } from "./guest-inputs";
import { COMPONENT_TOKENS } from "../lib/base/tokens";

export interface MemberArgs {
  member: MemberModel;
  sites: SiteModel[];
  databases: DatabaseModel[];
  vps: VpsModel[];
  archiveDir: string;
  targets: Map<string, Target>;
  /** Each host's sshd facts (the inventory's hosts.<host>.sshd), for the accounts' suspension. */
  sshd: Map<string, SshdFacts>;
  /** Each web host's home_quota (the inventory's hosts.<host>.home_quota). */
  homeQuota: Map<string, "required" | "warn">;
  /** Whom a suspended member writes to (the inventory's hostmaster). */
  contact: string;
  /** The runner's content store the VPS write their XML and seed into (VpsArgs.fileStore). */
  fileStore: string;
}

function target(targets: Map<string, Target>, host: string): Target {
  const t = targets.get(host);
  if (!t) throw new Error(`no connection facts for host ${host}`);
  return t;
}

function sshdOf(facts: Map<string, SshdFacts>, host: string): SshdFacts {
  const f = facts.get(host);
  if (!f) throw new Error(`no sshd facts for host ${host}`);
  return f;
}

/**
 * Everything a member owns, grouped under one node of the resource tree: the hosting account,
 * each database, each VPS. Children are named after stable YAML keys (handle, database name,
 * <handle>--<vps name>), so nothing is renamed when the files are edited.
 */
export class Member extends pulumi.ComponentResource {
  readonly account?: HostingAccount;
  readonly crontab?: MemberCrontab;
  readonly databases: Database[] = [];
  readonly vps: Vps[] = [];

  constructor(name: string, args: MemberArgs, opts?: pulumi.ComponentResourceOptions) {
    super(COMPONENT_TOKENS.member, name, {}, opts);
    const m = args.member;
    const status = m.status === "suspended" ? "suspended" : "active";
    if (m.webHost) {
      this.account = new HostingAccount(
        m.handle,
        {
          target: target(args.targets, m.webHost),
          handle: m.handle,
          home: m.home,
          status,
          sshKeys: m.sshKeys,
          access: m.access,
          ...(m.passwordHash ? { passwordHash: m.passwordHash } : {}),
          sites: args.sites.map((s) => s.host),
          archiveDir: args.archiveDir,
          diskQuotaMb: m.diskQuotaMb,
          inodeQuota: m.inodeQuota,
          homeQuota: args.homeQuota.get(m.webHost) ?? "required",
          sshd: sshdOf(args.sshd, m.webHost),
          contact: args.contact,
        },
        { parent: this },
      );
    }
    if (m.webHost && this.account && m.cron.length > 0) {
      // The crontab is the member's: its account exists first, and a reactivation brings the set-aside crontab back before the block is written.
      this.crontab = new MemberCrontab(m.handle, { target: target(args.targets, m.webHost), handle: m.handle, block: renderCronBlock(m), active: status === "active" }, { parent: this, dependsOn: [this.account] });
    }
    for (const d of args.databases) {
      this.databases.push(
        new Database(
          d.name,
          {
            target: target(args.targets, d.dbHost),
            webTarget: d.webHost ? target(args.targets, d.webHost) : undefined,
            handle: d.handle,
            home: m.home,
            name: d.name,
            user: d.user,
            clientHost: d.clientHost,
            limits: d.limits,
            status,
            archiveDir: args.archiveDir,
            ...(d.rotation ? { rotation: d.rotation } : {}),
          },
          // The credentials file lands in the member's home: the account comes first.
          { parent: this, dependsOn: this.account ? [this.account] : [] },
        ),
      );
    }
    for (const v of args.vps) {
      this.vps.push(
        new Vps(
          v.domain,
          {
            ...guestInputs(v, target(args.targets, v.hypervisor), args.archiveDir, status === "active"),
            fileStore: args.fileStore,
          },
          { parent: this },
        ),
      );
    }
    this.registerOutputs({});
  }
}
