import * as pulumi from "@pulumi/pulumi";
import { DnsServer } from "./components/dns-server";
import { Member } from "./components/member";
import { targetOf, type Target } from "./components/target";
import { WebServer } from "./components/web-server";
import { DataError } from "./lib/load/diagnostic";
import { loadModel } from "./lib/model/build";
import { renderAll, SERIAL_TOKEN } from "./lib/render";

/**
 * The Pulumi program: read the stack, load and validate the data, instantiate the components.
 * Exported as a function so the project's driver runs it inline through the Automation API,
 * and a stock Pulumi install runs it through the default export with `pulumi up`.
 */
export function program(root: string = __dirname): Record<string, unknown> {
  const stack = pulumi.getStack();
  const { model, errors } = loadModel(root, stack);
  if (!model) throw new DataError(errors);
  const targets = new Map<string, Target>(model.hosts.map((h) => [h.name, targetOf(h, root)]));
  // Zone serials are the provider's: it raises them only for zones whose content changed.
  const files = renderAll(model, { serial: () => SERIAL_TOKEN });
  const archiveDir = model.inventory.archive_dir;

  const members = model.members.map(
    (m) =>
      new Member(m.handle, {
        member: m,
        sites: model.sites.filter((s) => s.handle === m.handle),
        databases: model.databases.filter((d) => d.handle === m.handle),
        vps: model.vps.filter((v) => v.handle === m.handle),
        archiveDir,
        targets,
      }),
  );

  for (const h of model.hosts) {
    const mine = files.filter((f) => f.host === h.name);
    const target = targets.get(h.name) as Target;
    if (h.roles.includes("web")) {
      // FPM pools run as the members' users: their accounts on this host come first.
      const accounts = model.members.flatMap((m, i) => (m.webHost === h.name && members[i]?.account ? [members[i].account] : []));
      new WebServer(h.name, { target, files: mine }, { dependsOn: accounts });
    }
    if (h.roles.includes("dns-primary")) new DnsServer(h.name, { target, role: "primary", files: mine });
    else if (h.roles.includes("dns-secondary")) new DnsServer(h.name, { target, role: "secondary", files: mine });
  }

  return {
    members: model.members.length,
    sites: model.sites.length,
    databases: model.databases.length,
    vps: model.vps.length,
    zones: model.zones.length,
  };
}

export default () => program();
