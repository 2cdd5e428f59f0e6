import { describe, expect, it } from "vitest";
import { loadModel } from "../lib/check/build";
import type { Model } from "../lib/model/types";
import { generatePassword, hashPassword, verifyPassword } from "../lib/base/scrypt";
import { systemAccountProblem } from "../lib/schema/system-names";
import { PORTAL_STATE, PORTAL_USER, PORTAL_VHOST_PATH, renderPortalEnv, renderPortalUnit, renderPortalVhost } from "../lib/render/portal";
import { renderAll } from "../lib/render";
import { credentialsProblem, portalType } from "../provider/resources/portal";
import { passwordFileText, portalPasswordType } from "../provider/resources/portal-password";
import { baseFiles, errorsOf, HOST_KEY, writeTree } from "./helpers/data-tree";

/**
 * The member portal's deployment, rendered (docs/architecture.md, "Member portal"): the inventory's
 * portal: setting and its refusals, the vhost, the unit, the environment file, the provider's
 * checks of what it is given, and the password file a member reads. Pure: no daemon.
 */
const inv = baseFiles()["Pulumi.test.yaml"] as string;
const withPortal = (yaml: string) => inv.replace("    hosts:\n", `    portal:\n${yaml}    hosts:\n`);
const TOKEN = "glpat-SECRETsecret0123";
/** A release and data as the program passes them (provider/release-build.ts, index.ts). */
const SHIPPED = { release: { sha256: "a".repeat(64), file: "/tmp/globenet-portal-x.tar" }, data: { repo: "/srv/globenet-infra", commit: "b".repeat(40), branch: "main" } };

function modelWith(yaml: string): Model {
  const { model, errors } = loadModel(writeTree({ "Pulumi.test.yaml": withPortal(yaml) }), "test");
  if (!model) throw new Error(errors.map((e) => e.message).join("\n"));
  return model;
}

describe("inventory portal: setting", () => {
  it.each([
    ["host without the web role", "      host: ns1\n      name: espace.globenet.example\n", /Pulumi\.test\.yaml:\d+:\d+ config\["globenet-infra:inventory"\]\.portal\.host: "ns1" is not a host with the web role .*web1/],
    ["unknown host", "      host: web9\n      name: espace.globenet.example\n", /portal\.host: "web9" is not a host with the web role/],
    ["privileged port", "      host: web1\n      name: espace.globenet.example\n      port: 443\n", /portal\.port: must be at least 1024/],
    ["bad name", "      host: web1\n      name: espace_globenet\n", /portal\.name:/],
    ["unknown key", "      host: web1\n      name: espace.globenet.example\n      user: root\n", /Pulumi\.test\.yaml:\d+:\d+ .*portal\.user: unknown key/],
  ])("%s is refused with the file, line and field", (_what, yaml, message) => {
    const errors = errorsOf({ "Pulumi.test.yaml": withPortal(yaml) });
    expect(errors.join("\n")).toMatch(message);
  });

  it("a valid one: defaults (port 8451, branch main); the vhost joins web1's Apache files", () => {
    const model = modelWith("      host: web1\n      name: espace.globenet.example\n      gitlab: { api: https://gitlab.example/api/v4, project: globenet/infra }\n");
    expect(model.inventory.portal).toEqual({ host: "web1", name: "espace.globenet.example", port: 8451, gitlab: { api: "https://gitlab.example/api/v4", project: "globenet/infra", target_branch: "main" } });
    const files = renderAll(model, { serial: () => 1 }).filter((f) => f.path === PORTAL_VHOST_PATH);
    expect(files.map((f) => [f.host, f.daemon])).toEqual([["web1", "apache2"]]);
  });

  it("the portal's user is a system name: no member may take it", () => {
    expect(systemAccountProblem(PORTAL_USER)).toMatch(/"globenet-portal" is a system account name/);
    expect(systemAccountProblem("globenet")).toBeUndefined();
  });
});

describe("portal vhost", () => {
  const model = modelWith("      host: web1\n      name: espace.globenet.example\n      port: 8452\n");
  const vhost = renderPortalVhost(model);
  const hosts = vhost.split("<VirtualHost ").slice(1);
  it.each([
    ["mod_md's certificate for its name", /^MDomain espace\.globenet\.example$/m],
    ["proxy modules loaded when Debian's config has not", /<IfModule !proxy_http_module>\n\s+LoadModule proxy_http_module \/usr\/lib\/apache2\/modules\/mod_proxy_http\.so/],
    ["its own logs", /CustomLog \$\{APACHE_LOG_DIR\}\/globenet-portal-access\.log combined/],
  ])("%s", (_what, re) => expect(vhost).toMatch(re));

  it("port 80 only redirects to HTTPS; 443 proxies to loopback with HSTS once the certificate is live", () => {
    expect(hosts).toHaveLength(2);
    const [http, https] = hosts as [string, string];
    expect(http).toMatch(/^\*:80>/);
    expect(http).toContain("Redirect permanent / https://espace.globenet.example/");
    expect(http).not.toContain("ProxyPass");
    expect(https).toMatch(/^\*:443>/);
    expect(https).toContain("SSLEngine on");
    expect(https).toContain("ProxyPass / http://127.0.0.1:8452/ retry=0");
    expect(https).toMatch(/<IfFile \/var\/lib\/apache2\/md\/domains\/espace\.globenet\.example\/pubcert\.pem>\n\s+Header always set Strict-Transport-Security/);
    expect(vhost).not.toMatch(/AssignUserID|0\.0\.0\.0|ProxyPass \/ http:\/\/(?!127\.0\.0\.1)/);
  });

  it("without an ACME CA the portal is not proxied at all (no login form over plain HTTP)", () => {
    const noAcme = { inventory: { ...model.inventory, acme: undefined } } as unknown as Model;
    const text = renderPortalVhost(noAcme);
    expect(text).not.toContain("ProxyPass");
    expect(text).not.toContain("MDomain");
  });
});

describe("portal unit", () => {
  const p = modelWith("      host: web1\n      name: espace.globenet.example\n      gitlab: { api: https://gitlab.example/api/v4, project: \"42\", target_branch: main }\n").inventory.portal!;
  const unit = renderPortalUnit(p, "prod", true);
  it.each([
    ["its own user", /^User=globenet-portal$/m],
    ["its group", /^Group=globenet-portal$/m],
    ["NoNewPrivileges", /^NoNewPrivileges=yes$/m],
    ["ProtectSystem=strict", /^ProtectSystem=strict$/m],
    ["ProtectHome", /^ProtectHome=yes$/m],
    ["PrivateTmp", /^PrivateTmp=yes$/m],
    ["only its state writable", new RegExp(`^ReadWritePaths=${PORTAL_STATE}$`, "m")],
    ["the token from a root file, read before the user is taken", /^EnvironmentFile=-\/etc\/globenet\/portal\.env$/m],
    ["the shipped release with Debian's node on the shipped data, loopback only, behind Apache, its state", /^ExecStart=\/usr\/bin\/node \/opt\/globenet-portal\/current\/portal\.cjs --serve --root \/opt\/globenet-portal\/data --stack prod --listen 127\.0\.0\.1:8451 --state \/var\/lib\/globenet-portal --requests main$/m],
    ["a new commit's data is a reload, same process", /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m],
    ["it runs in the shipped data", /^WorkingDirectory=\/opt\/globenet-portal\/data$/m],
    ["restarted by systemd", /^Restart=on-failure$/m],
  ])("%s", (_what, re) => expect(unit).toMatch(re));

  it("exactly one ReadWritePaths; no token; no request forms without the token; a bad stack name refused", () => {
    expect(unit.match(/^ReadWritePaths=/gm)).toHaveLength(1);
    expect(unit).not.toMatch(/GITLAB_API_TOKEN|glpat/);
    // No checkout and no node_modules: the unit runs what the apply shipped.
    expect(unit.split("\n").filter((l) => !l.startsWith("#")).join("\n")).not.toMatch(/node_modules|tsx|\/opt\/globenet-infra/);
    expect(renderPortalUnit(p, "prod", false)).not.toContain("--requests");
    expect(() => renderPortalUnit(p, "prod; rm -rf /", true)).toThrow(/stack name/);
    const check = portalType.check({ target: { name: "web1", address: "192.0.2.10", port: 22, user: "root", hostKey: HOST_KEY }, unit, env: "", credentials: "{}", ...SHIPPED });
    expect(check.failures).toBeUndefined();
    const asRoot = portalType.check({ target: { name: "web1", address: "192.0.2.10", port: 22, user: "root", hostKey: HOST_KEY }, unit: unit.replace("User=globenet-portal", "User=root"), env: "", credentials: "{}", ...SHIPPED });
    expect(asRoot.failures?.map((f) => f.property)).toEqual(["unit"]);
  });
});

describe("portal environment file and credentials", () => {
  it.each([
    [{ api: "https://gitlab.example/api/v4", project: "globenet/infra", token: TOKEN }, `CI_API_V4_URL=https://gitlab.example/api/v4\nCI_PROJECT_ID=globenet/infra\nGITLAB_API_TOKEN=${TOKEN}\n`],
    [{ api: "https://gitlab.example/api/v4", project: "42", token: TOKEN, url: "https://gitlab.example/g/i" }, `CI_API_V4_URL=https://gitlab.example/api/v4\nCI_PROJECT_ID=42\nGITLAB_API_TOKEN=${TOKEN}\nCI_PROJECT_URL=https://gitlab.example/g/i\n`],
  ])("renders %o", (e, want) => expect(renderPortalEnv(e)).toBe(want));

  it.each([
    [{ api: "https://gitlab.example/api/v4", project: "42", token: `${TOKEN}\nLD_PRELOAD=/tmp/x.so` }, /GitLab token/],
    [{ api: "https://gitlab.example/api/v4\nX=1", project: "42", token: TOKEN }, /API URL/],
    [{ api: "https://gitlab.example/api/v4", project: "42 x", token: TOKEN }, /project/],
  ])("refuses %o without showing the token", (e, re) => {
    let message = "";
    try {
      renderPortalEnv(e);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(re);
    expect(message).not.toContain(TOKEN);
  });

  it("the provider refuses credentials that are not handle → scrypt hash, without quoting them", async () => {
    const hash = await hashPassword("abcdefghijabcdefghij");
    expect(credentialsProblem(JSON.stringify({ "velo-libre": hash }))).toBeUndefined();
    expect(credentialsProblem(JSON.stringify({ "velo-libre": "plaintext-password" }))).toMatch(/velo-libre: must be a scrypt hash/);
    expect(credentialsProblem(JSON.stringify({ "../x": hash }))).toMatch(/not a member handle/);
    expect(credentialsProblem("[]")).toMatch(/JSON object/);
    const refused = portalType.check({ target: { name: "web1", address: "192.0.2.10", port: 22, user: "root", hostKey: HOST_KEY }, unit: "x", env: `GITLAB_API_TOKEN=${TOKEN}\n`, credentials: '{"a":"secret-pw"}', ...SHIPPED });
    expect(refused.failures?.map((f) => f.property)).toEqual(["unit", "env", "credentials"]);
    expect(JSON.stringify(refused.failures)).not.toMatch(new RegExp(`${TOKEN}|secret-pw`));
  });
});

describe("a member's portal password", () => {
  it("generated (20 characters, no look-alikes), verified by its hash; the file says where and who, the password on its own line", async () => {
    const pw = generatePassword();
    expect(pw).toMatch(/^[a-km-zA-HJ-NP-Z2-9]{20}$/);
    expect(await verifyPassword(pw, await hashPassword(pw))).toBe(true);
    const text = passwordFileText({ handle: "velo-libre", url: "https://espace.globenet.example/" }, pw);
    expect(text.split("\n")).toEqual(["# Espace adhérent / member portal: https://espace.globenet.example/", "# Identifiant / login: velo-libre", "# Mot de passe / password (ligne suivante / next line):", pw, ""]);
    expect(() => passwordFileText({ handle: "velo-libre", url: "https://x.example/" }, "pw\nX=1")).toThrow(/not one this provider makes/);
  });

  it.each([
    [{ handle: "root", home: "/root", url: "https://espace.globenet.example/" }, ["handle", "home"]],
    [{ handle: "velo-libre", home: "/home/velo-libre", url: "http://espace.globenet.example/" }, ["url"]],
    [{ handle: "velo-libre", home: "/home/velo-libre", url: "https://espace.globenet.example/", rotation: "soon" }, ["rotation"]],
  ])("check refuses %o", (i, props) => {
    const r = portalPasswordType.check({ target: { name: "web1", address: "192.0.2.10", port: 22, user: "root", hostKey: HOST_KEY }, ...i });
    expect(r.failures?.map((f) => f.property)).toEqual(props);
  });
});
