import * as pulumi from "@pulumi/pulumi";
import type { BackupPlan } from "../lib/model/backup";
import { COMPONENT_TOKENS } from "../lib/base/tokens";
import { BackupClient } from "./backup-client";
import { BackupRepository } from "./backup-repository";
import type { Target } from "./target";

export interface BackupsArgs {
  plan: BackupPlan;
  targets: Map<string, Target>;
}

/**
 * The stack's backups (docs/architecture.md, "Backups"): on each protected host a client (its
 * key, passphrase, sources and schedule), and on the backup host that host's repository, which
 * lets in the client's key only, append-only. Child names are the protected hosts' inventory
 * names, so a host keeps its repository whatever else changes.
 */
export class Backups extends pulumi.ComponentResource {
  constructor(name: string, args: BackupsArgs, opts?: pulumi.ComponentResourceOptions) {
    super(COMPONENT_TOKENS.backups, name, {}, opts);
    const { plan } = args;
    const backupTarget = args.targets.get(plan.backupHost.name) as Target;
    const s = plan.settings;
    for (const h of plan.hosts) {
      const client = new BackupClient(
        `${h.host}-backup-client`,
        {
          target: args.targets.get(h.host) as Target,
          backup: { address: backupTarget.address, port: backupTarget.port, user: s.user, hostKey: backupTarget.hostKey, repository: h.repository },
          sources: h.sources,
          settings: { time: s.time, retention: s.retention, checkEveryDays: s.check_every_days, maxAgeHours: s.max_age_hours },
        },
        { parent: this },
      );
      new BackupRepository(
        `${h.host}-backup-repository`,
        { target: backupTarget, account: s.user, path: h.repository, sourceHost: h.host, publicKey: client.publicKey, passphrase: client.passphrase, time: s.time },
        { parent: this },
      );
    }
    this.registerOutputs({});
  }
}
