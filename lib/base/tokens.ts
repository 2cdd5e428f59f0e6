/**
 * Every Pulumi type token of the project, in one place: `globenet:<module>:<Type>`. The
 * components register with them, the provider serves the custom ones (provider/registry.ts) and
 * the guard (lib/guard/rules.ts) decides on them, so a token that drifted in one place would
 * silently stop a deletion from being guarded. tests/tokens.test.ts checks that the three agree.
 */

/** ComponentResources (components/*.ts): groupings with no state of their own on a host. */
export const COMPONENT_TOKENS = {
  member: "globenet:member:Member",
  webServer: "globenet:web:WebServer",
  webPart: "globenet:web:WebPart",
  dnsServer: "globenet:dns:DnsServer",
  backups: "globenet:backup:Backups",
  mailServer: "globenet:mail:MailServer",
} as const;

/** Custom resources: each is served by the globenet provider (provider/registry.ts). */
export const RESOURCE_TOKENS = {
  fileSet: "globenet:files:FileSet",
  account: "globenet:hosting:Account",
  crontab: "globenet:hosting:Crontab",
  database: "globenet:db:Database",
  dbSettings: "globenet:db:ServerSettings",
  guest: "globenet:vm:Guest",
  backupClient: "globenet:backup:Client",
  backupRepository: "globenet:backup:Repository",
  transferKey: "globenet:dns:TransferKey",
  alertBridge: "globenet:monitor:AlertBridge",
  dkimKey: "globenet:mail:DkimKey",
  maildirs: "globenet:mail:Maildirs",
  portal: "globenet:web:Portal",
  portalPassword: "globenet:hosting:PortalPassword",
} as const;

/** The bench's trivial resource, served only by the provider's dry mode (provider/dry-run.ts). */
export const BENCH_NOOP_TOKEN = "globenet:bench:Noop";

/**
 * Pulumi's marker of a special value in a state file and on the wire: an object with this key,
 * whose value is PULUMI_SECRET_SIG for a secret (then `ciphertext` in a saved state, `plaintext`
 * in a decrypted export, `value` on the wire).
 */
export const PULUMI_SIG_KEY = "4dabf18193072939515e22adb298388d";
export const PULUMI_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

export type ComponentToken = (typeof COMPONENT_TOKENS)[keyof typeof COMPONENT_TOKENS];
export type ResourceToken = (typeof RESOURCE_TOKENS)[keyof typeof RESOURCE_TOKENS];

/**
 * The inputs' property of file sets and guests naming the runner's content store
 * (provider/resources/file-store.ts): where the runner that applied kept the contents, not a
 * host's setting, so no diff, plan or drift report counts it as a change.
 */
export const STORE_FOLDER_PROPERTY = "fileStore";
