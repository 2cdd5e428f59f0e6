import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { HostModel } from "../lib/model/types";

import type { Target } from "../provider/ssh/connection";

/** How the provider reaches a host: connection facts only; credentials stay in its environment. */
export type { Target };

/** The pinned host key, from the inventory or from the file it names (the lab's, made at run time). */
export function targetOf(host: HostModel, root: string): Target {
  const ssh = host.host.ssh;
  let hostKey = ssh.host_key;
  if (!hostKey && ssh.host_key_file) {
    const file = join(root, ssh.host_key_file);
    if (!existsSync(file)) {
      throw new Error(`host ${host.name}: its host key file ${ssh.host_key_file} does not exist yet (the lab makes it: run npm run lab first)`);
    }
    hostKey = readFileSync(file, "utf8").trim();
  }
  return { name: host.name, address: host.address, port: ssh.port, user: ssh.user, hostKey: hostKey ?? "" };
}
