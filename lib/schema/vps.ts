import { z } from "zod";
import { hostname, identifier, ipv4, ipv6, mac, positiveInt, sshPublicKey } from "./common";

/** One VPS, in members/<handle>/vps/<name>.yaml; its name is the file name. */
export const vpsSchema = z
  .strictObject({
    hypervisor: identifier("host name", 32, "hv1"),
    vcpus: positiveInt("vCPUs", 64),
    memory_mb: positiveInt("MB", 262_144).refine((n) => n >= 256, { error: "must be at least 256 MB (a Debian guest needs 512 MB to be comfortable)" }),
    disk_gb: positiveInt("GB", 4096).refine((n) => n >= 3, { error: "must be at least 3 GB (the base image needs 2 GB)" }),
    image: identifier("image name", 40, "debian-12"),
    ipv4: ipv4.optional(),
    ipv6: ipv6.optional(),
    /** Defaults to a stable MAC derived from the member and VPS names. */
    mac: mac.optional(),
    /** Public name for the VPS: A/AAAA derived in its zone, PTR points at it. */
    dns_name: hostname.optional(),
    /** Defaults to the member's keys. */
    ssh_keys: z.array(sshPublicKey).min(1, { error: "must list at least one key (or remove ssh_keys to use the member's keys)" }).max(20).optional(),
  })
  .superRefine((v, ctx) => {
    if (!v.ipv4 && !v.ipv6) ctx.addIssue({ code: "custom", path: [], message: "needs an address: ipv4, ipv6 or both (pick free ones from the VPS pools in Pulumi.<stack>.yaml)" });
  });

export type Vps = z.infer<typeof vpsSchema>;
