import { randomBytes } from "node:crypto";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import fastifyCookie from "@fastify/cookie";
import fastifyFormbody from "@fastify/formbody";
import fastifyCsrf from "@fastify/csrf-protection";
import fastifyRateLimit from "@fastify/rate-limit";
import type { Lang } from "../i18n/lang";
import type { Model } from "../model/types";
import { humanBytes } from "../status/text-table";
import { NO_ONE, verifyPassword, type Credentials } from "./credentials";
import { Raw, renderPage } from "./html";
import { fill, pickLang, words, type Word } from "./i18n";
import { DEFAULT_LOCKOUT, Lockout, type LockoutPolicy } from "./lockout";
import { SESSION_COOKIE, Sessions, type Session } from "./sessions";
import { attachStore } from "./store";
import { memberView, type MemberLive, type MemberView } from "./view";
import { currentUser, type GitLab } from "../ci/gitlab";
import type { SimpleGit } from "simple-git";
import { mailboxLogin } from "./mailbox-login";
import { NO_MAILBOX, verifyMailPassword } from "./mail-password";
import { memberIssues, memberRequests, openIssue, openRequest, RequestRefused, type MemberMr } from "./requests";
import { ownObjects, REQUEST_TYPES, type RequestType } from "./request-types";
import { memberHistory, type HistoryEntry } from "./history";
import { LIVE_MAX_AGE_MS } from "./live-file";

/**
 * The member portal's web server (docs/architecture.md, "Member portal"): fastify over HTTPS
 * only, server-rendered pages, no JavaScript. Every page but the login form needs a session;
 * a member's page is /m/<handle> and answers 403 to anyone but that member; every POST carries
 * a CSRF token bound to the session; logins are rate-limited per address and locked per name.
 */
export interface PortalOptions {
  /** HTTPS with this key and certificate (the lab); absent: plain HTTP on loopback behind Apache, which terminates TLS (prod, `proxied`). */
  tls?: { key: string; cert: string };
  /** Behind Apache on the same host (prod): the client's address is Apache's X-Forwarded-For, trusted from loopback only. */
  proxied?: boolean;
  /** The file where sessions and lockouts are kept across restarts (lib/portal/store.ts); absent: memory only. */
  store?: string;
  /** The model (git's data); called per request, so a reload of the data is seen at once. */
  model: () => Model;
  /** Current credentials (handle → scrypt hash); read at each login, so a new password needs no restart. */
  credentials: () => Credentials;
  /** Live figures for one member (the status views); absent: the data only. */
  live?: (handle: string) => Promise<MemberLive>;
  lockout?: LockoutPolicy;
  /** Requests per address and minute: all routes, and the login form's POST. */
  rateLimit?: { max: number; loginMax: number };
  now?: () => number;
  /** Where requests become merge requests (GitLab project, bot token, target branch; the data to validate against). Absent: no request forms. */
  requests?: { gitlab: GitLab; target: string; root: string; stack: string };
  /** The repository whose history of members/<handle>/ the member reads (the audit's git code), at `ref`. Absent: no history page. */
  history?: { git: SimpleGit; ref: string };
  /** The project's web address (CI_PROJECT_URL): commits in the history link to it. */
  projectUrl?: string;
}

const LANG_COOKIE = "globenet-portal-lang";
const CSRF_COOKIE = "__Host-globenet-csrf";
const COOKIE_BASE = { path: "/", httpOnly: true, secure: true, sameSite: "strict" as const };

export async function buildPortal(opts: PortalOptions): Promise<FastifyInstance> {
  const now = opts.now ?? Date.now;
  const sessions = new Sessions();
  const lockout = new Lockout(opts.lockout ?? DEFAULT_LOCKOUT);
  const stored = opts.store ? attachStore(opts.store, sessions, lockout, now) : undefined;
  if (!opts.tls && !opts.proxied) throw new Error("the portal serves HTTPS itself (tls) or sits behind Apache on loopback (proxied)");
  const app = Fastify({ ...(opts.tls ? { https: opts.tls } : {}), logger: false, bodyLimit: 16 * 1024, trustProxy: opts.proxied ? ["127.0.0.1", "::1"] : false }) as unknown as FastifyInstance;

  await app.register(fastifyCookie);
  await app.register(fastifyFormbody);
  await app.register(fastifyRateLimit, {
    max: opts.rateLimit?.max ?? 300,
    timeWindow: 60_000,
    errorResponseBuilder: () => ({ statusCode: 429, error: "Too Many Requests", message: "too many requests" }),
  });
  await app.register(fastifyCsrf, {
    sessionPlugin: "@fastify/cookie",
    cookieKey: CSRF_COOKIE,
    cookieOpts: COOKIE_BASE,
    // The token is bound to the session (or to "no session" on the login form): a token from
    // another session, or from before login, is refused.
    getUserInfo: (req: FastifyRequest) => sessionOf(req)?.id ?? "anonymous",
    getToken: (req: FastifyRequest) => (req.body as Record<string, unknown> | undefined)?._csrf as string | undefined,
    csrfOpts: { hmacKey: stored?.csrfKey ?? randomBytes(32) },
  });

  const sessionOf = (req: FastifyRequest): Session | undefined => sessions.get(req.cookies[SESSION_COOKIE], now());
  const langOf = (req: FastifyRequest): Lang => pickLang(req.cookies[LANG_COOKIE], req.headers["accept-language"]);

  /** A whole page: `body` is one of the portal's templates, the layout around it. */
  function page(reply: FastifyReply, req: FastifyRequest, status: number, template: string, view: object, session?: Session): FastifyReply {
    const lang = langOf(req);
    const w = words(lang);
    const csrf = session ? reply.generateCsrf({ userInfo: session.id }) : "";
    const body = renderPage(template, { ...view, w });
    const html = renderPage("layout", {
      lang,
      title: w.title,
      otherLang: lang === "fr" ? "en" : "fr",
      langHref: `/lang/${lang === "fr" ? "en" : "fr"}`,
      switchLang: w.switchLang,
      logout: w.logout,
      csrf,
      body: new Raw(body),
    });
    return reply.code(status).type("text/html; charset=utf-8").send(html);
  }

  const message = (reply: FastifyReply, req: FastifyRequest, status: number, word: Word, values: Record<string, string | number> = {}) =>
    page(reply, req, status, "message", { message: fill(words(langOf(req))[word], values), back: langOf(req) === "fr" ? "Retour" : "Back" }, sessionOf(req));

  /**
   * The session when the URL's member (`:handle`) is the session's own; otherwise the answer is
   * sent (the login form, or the same 403 for any other name, existing or not: the answer never
   * says which members exist) and undefined returned.
   */
  function owner(req: FastifyRequest, reply: FastifyReply): Session | undefined {
    const s = sessionOf(req);
    if (!s) void reply.redirect("/login", 303);
    else if ((req.params as { handle?: string }).handle !== s.handle) void message(reply, req, 403, "forbidden");
    else return s;
    return undefined;
  }

  app.addHook("onSend", async (_req, reply, payload) => {
    reply.header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
    reply.header("X-Content-Type-Options", "nosniff");
    reply.header("Referrer-Policy", "no-referrer");
    reply.header("Strict-Transport-Security", "max-age=31536000");
    reply.header("Cache-Control", "no-store");
    return payload;
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    if (err.code?.startsWith("FST_CSRF")) return message(reply, req, 403, "badForm");
    if (err.statusCode === 429) return message(reply, req, 429, "tooMany");
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return message(reply, req, err.statusCode, "badForm");
    return reply.code(500).type("text/plain; charset=utf-8").send("internal error");
  });
  app.setNotFoundHandler((req, reply) => message(reply, req, 404, "notFound"));

  app.get("/", async (req, reply) => {
    const s = sessionOf(req);
    return reply.redirect(s ? `/m/${encodeURIComponent(s.handle)}` : "/login", 303);
  });

  app.get("/lang/:lang", async (req, reply) => {
    const { lang } = req.params as { lang: string };
    if (lang !== "fr" && lang !== "en") return message(reply, req, 404, "notFound");
    reply.setCookie(LANG_COOKIE, lang, { ...COOKIE_BASE, maxAge: 365 * 86400 });
    return reply.redirect("/", 303);
  });

  const loginForm = (req: FastifyRequest, reply: FastifyReply, status: number, error: string, handle: string) => {
    const csrf = reply.generateCsrf({ userInfo: "anonymous" });
    return page(reply, req, status, "login", { csrf, error, handle });
  };

  app.get("/login", async (req, reply) => {
    if (sessionOf(req)) return reply.redirect("/", 303);
    return loginForm(req, reply, 200, "", "");
  });

  app.post(
    "/login",
    { preHandler: app.csrfProtection, config: { rateLimit: { max: opts.rateLimit?.loginMax ?? 20, timeWindow: 60_000 } } },
    async (req, reply) => {
      const body = (req.body ?? {}) as Record<string, unknown>;
      const handle = String(body.handle ?? "").trim().toLowerCase().slice(0, 254);
      const password = String(body.password ?? "").slice(0, 256);
      const w = words(langOf(req));
      const at = now();
      const locked = lockout.lockedFor(handle, at);
      if (locked > 0) return loginForm(req, reply, 429, fill(w.locked, { min: Math.ceil(locked / 60_000) }), handle);
      // A name with an @ is one of the member's mailboxes, checked against its Dovecot hash in
      // the data (mailboxLogin); otherwise the portal credential.
      const mailbox = handle.includes("@") ? mailboxLogin(opts.model(), handle) : undefined;
      let ok: boolean;
      if (handle.includes("@")) ok = (await verifyMailPassword(password, mailbox?.hash ?? NO_MAILBOX)) && mailbox !== undefined;
      else {
        const hash = opts.credentials().get(handle);
        const known = hash !== undefined && opts.model().members.some((m) => m.handle === handle && m.status !== "departed");
        ok = (await verifyPassword(password, hash ?? NO_ONE)) && known;
      }
      if (!ok) {
        const lock = lockout.failure(handle, at);
        if (lock > 0) return loginForm(req, reply, 429, fill(w.locked, { min: Math.ceil(lock / 60_000) }), handle);
        return loginForm(req, reply, 401, w.wrong, handle);
      }
      lockout.success(handle);
      sessions.delete(req.cookies[SESSION_COOKIE]);
      const s = mailbox ? sessions.create(mailbox.handle, at, handle) : sessions.create(handle, at);
      reply.setCookie(SESSION_COOKIE, s.id, COOKIE_BASE);
      return reply.redirect(`/m/${encodeURIComponent(s.handle)}`, 303);
    },
  );

  app.post("/logout", { preHandler: app.csrfProtection }, async (req, reply) => {
    sessions.delete(req.cookies[SESSION_COOKIE]);
    reply.clearCookie(SESSION_COOKIE, COOKIE_BASE);
    return reply.redirect("/login", 303);
  });

  app.get("/m/:handle", async (req, reply) => {
    // The member comes from the session; the URL only has to agree with it.
    const s = owner(req, reply);
    if (!s) return reply;
    const model = opts.model();
    let live: MemberLive = {};
    if (opts.live) {
      try {
        live = await opts.live(s.handle);
      } catch (e) {
        live = { error: e instanceof Error ? e.message : String(e) };
      }
    }
    const view = memberView(model, s.handle, live);
    if (!view) return message(reply, req, 404, "notFound");
    const base = `/m/${encodeURIComponent(s.handle)}`;
    const own = ownObjects(model, s.handle);
    const w = words(langOf(req));
    const links = {
      asks: opts.requests ? REQUEST_TYPES.filter((t) => t.offered(own)).map((t) => ({ href: `${base}/${t.slug}`, text: w[t.title] })) : [],
      requests: opts.requests ? `${base}/requests` : "",
      history: opts.history ? `${base}/history` : "",
    };
    return page(reply, req, 200, "dashboard", dashboard(view, w, links), s);
  });

  /** A request's form; `values` are what was posted (passwords never echoed). */
  const requestForm = (req: FastifyRequest, reply: FastifyReply, s: Session, t: RequestType, status: number, error: string, values: Record<string, string>) => {
    const w = words(langOf(req));
    const own = ownObjects(opts.model(), s.handle);
    const fields = t.fields.map((f) => {
      const value = f.kind === "password" ? "" : (values[f.name] ?? "");
      return {
        name: f.name,
        label: w[f.label],
        optional: f.optional === true,
        select: f.kind === "select",
        textarea: f.kind === "textarea",
        password: f.kind === "password",
        type: f.kind === "password" ? "password" : "text",
        value,
        options: (f.options?.(own) ?? []).map((o) => ({ value: o, selected: o === value })),
      };
    });
    const base = `/m/${encodeURIComponent(s.handle)}`;
    return page(reply, req, status, "request", { title: w[t.title], help: w[t.help], action: `${base}/${t.slug}`, back: base, fields, error, csrf: reply.generateCsrf({ userInfo: s.id }) }, s);
  };

  for (const t of REQUEST_TYPES) {
    app.get(`/m/:handle/${t.slug}`, async (req, reply) => {
      const s = owner(req, reply);
      if (!s) return reply;
      if (!opts.requests) return message(reply, req, 404, "requestsOff");
      return requestForm(req, reply, s, t, 200, "", {});
    });

    app.post(`/m/:handle/${t.slug}`, { preHandler: app.csrfProtection }, async (req, reply) => {
      const s = owner(req, reply);
      if (!s) return reply;
      const r = opts.requests;
      if (!r) return message(reply, req, 404, "requestsOff");
      const body = (req.body ?? {}) as Record<string, unknown>;
      const values: Record<string, string> = {};
      // A password is kept as typed (a space at either end is part of it, as the mail client will send it).
      for (const f of t.fields) {
        const raw = String(body[f.name] ?? "").slice(0, f.kind === "textarea" ? 4000 : f.kind === "password" ? 256 : 300);
        values[f.name] = f.kind === "password" ? raw : raw.trim();
      }
      // A choice that is not one of the member's own objects (a forged form: another member's
      // domain, site, database, VPS…) is refused before anything is read or sent.
      const model = opts.model();
      const own = ownObjects(model, s.handle);
      if (t.fields.some((f) => f.options && !f.options(own).includes(values[f.name] ?? ""))) return message(reply, req, 403, "forbidden");
      const missing = t.fields.find((f) => !f.optional && !values[f.name]);
      const w = words(langOf(req));
      const back = `/m/${encodeURIComponent(s.handle)}`;
      try {
        if (missing) throw new RequestRefused(`${words("fr")[missing.label]} : à remplir`);
        const built = await t.build(values, own, model);
        if ("act" in built) {
          const opened = await openIssue(r.gitlab, { ...built.act, title: `Espace adhérent : ${s.handle} demande de ${built.act.title}`, handle: s.handle, ...(s.via ? { via: s.via } : {}) });
          return page(reply, req, 200, "sent", { text: fill(w.issueSentText, { iid: opened.iid }), diff: "", back, requestsHref: `${back}/requests` }, s);
        }
        const opened = await openRequest(r.gitlab, r.target, r.root, r.stack, { ...built.mr, title: `Espace adhérent : ${s.handle} ${built.mr.title}`, handle: s.handle, ...(s.via ? { via: s.via } : {}) });
        return page(reply, req, 200, "sent", { text: fill(w.sentText, { iid: opened.iid }), diff: opened.diff, back, requestsHref: `${back}/requests` }, s);
      } catch (e) {
        if (e instanceof RequestRefused) return requestForm(req, reply, s, t, 400, e.message, values);
        throw e;
      }
    });
  }

  /** A list read from elsewhere (git, GitLab): its items, or none and the reason in the page's words. */
  async function readList<T>(w: Record<Word, string>, read: () => Promise<T[]>): Promise<{ items: T[]; error: string }> {
    try {
      return { items: await read(), error: "" };
    } catch (e) {
      return { items: [], error: fill(w.readError, { error: e instanceof Error ? e.message : String(e) }) };
    }
  }

  app.get("/m/:handle/history", async (req, reply) => {
    const s = owner(req, reply);
    if (!s) return reply;
    const h = opts.history;
    if (!h) return message(reply, req, 404, "notFound");
    const w = words(langOf(req));
    const { items, error } = await readList(w, () => memberHistory(h.git, h.ref, s.handle));
    return page(reply, req, 200, "history", { entries: historyView(items, w, opts.projectUrl), error, back: `/m/${encodeURIComponent(s.handle)}` }, s);
  });

  // The bot's user id, asked once (its merge requests are the portal's); asked again after a failure.
  let botId: Promise<number> | undefined;
  app.get("/m/:handle/requests", async (req, reply) => {
    const s = owner(req, reply);
    if (!s) return reply;
    const r = opts.requests;
    if (!r) return message(reply, req, 404, "requestsOff");
    const w = words(langOf(req));
    const { items, error } = await readList(w, async () => {
      botId ??= currentUser(r.gitlab).then(
        (u) => u.id,
        (e: unknown) => {
          botId = undefined;
          throw e;
        },
      );
      const id = await botId;
      const [mrs, issues] = await Promise.all([memberRequests(r.gitlab, id, s.handle), memberIssues(r.gitlab, id, s.handle)]);
      return [...mrs, ...issues].sort((a, b) => (b.created ?? "").localeCompare(a.created ?? ""));
    });
    return page(reply, req, 200, "requests", { mrs: requestsView(items, w), error, back: `/m/${encodeURIComponent(s.handle)}` }, s);
  });

  return app;
}

/** Only http(s) addresses become links (a `javascript:` one from anywhere is shown as text). */
const webLink = (url: string | undefined) => (url && /^https?:\/\//i.test(url) ? url : "");

/** The history page's rows: display strings made here, escaped by renderPage. */
export function historyView(entries: HistoryEntry[], w: Record<Word, string>, projectUrl?: string): object[] {
  const project = webLink(projectUrl).replace(/\/+$/, "");
  return entries.map((e) => ({
    date: e.date.slice(0, 16).replace("T", " "),
    author: e.author,
    subject: e.subject ?? fill(w.subjectHidden, { n: e.otherFiles }),
    hidden: e.subject === undefined,
    short: e.short,
    href: project ? `${project}/-/commit/${e.hash}` : "",
    mergeRequest: e.mergeRequest ?? "",
    changes: e.files.flatMap((f) => f.changes.map((c) => `${f.path} : ${c}`)),
  }));
}

/** The requests page's rows. */
export function requestsView(mrs: MemberMr[], w: Record<Word, string>): object[] {
  return mrs.map((m) => ({
    ref: `${m.kind === "issue" ? "#" : "!"}${m.iid}`,
    title: m.title,
    state: m.state,
    stateText: w[m.state === "opened" ? "mrOpened" : m.state === "merged" ? "mrMerged" : m.kind === "issue" ? "issueClosed" : "mrClosed"],
    href: webLink(m.webUrl),
    date: (m.created ?? "").slice(0, 10),
  }));
}

/** The dashboard template's view: display strings made here, escaped by renderPage. */
export function dashboard(m: MemberView, w: Record<Word, string>, links: { asks?: { href: string; text: string }[]; requests?: string; history?: string } = {}): object {
  const mb = (bytes: number | undefined) => (bytes === undefined ? "" : humanBytes(bytes));
  return {
    name: m.name,
    asks: links.asks ?? [],
    requestsHref: links.requests ?? "",
    historyHref: links.history ?? "",
    email: m.email,
    access: m.access,
    statusText: w[m.status as Word] ?? m.status,
    webHost: m.webHost ?? "",
    diskQuota: `${m.diskQuotaMb} MB`,
    usage: m.usage?.homeBytes === undefined ? "" : `${mb(m.usage.homeBytes)}${m.usage.quotaEnforced === false ? ` ${w.notEnforced}` : ""}`,
    liveError: m.liveError ? fill(w.liveError, { error: m.liveError }) : "",
    // The time of the figures (lib/portal/live.ts); too old or none: said, and no figure shown.
    liveReadAt: m.readAt && !m.stale ? fill(w.liveReadAt, { time: m.readAt }) : "",
    liveStale: m.stale === "old" ? fill(w.liveOld, { time: m.readAt ?? "?", minutes: LIVE_MAX_AGE_MS / 60_000 }) : m.stale === "missing" ? w.liveMissing : "",
    sites: m.sites.map((s) => ({
      host: s.host,
      aliases: [...s.aliases, ...s.redirects.map((r) => `${r} →`)].join(", "),
      php: s.php,
      cert: s.tls === "none" ? w.noTls : s.cert ? fill(w.certUntil, { date: s.cert.notAfter, days: s.cert.daysLeft }) : w.certNotRead,
    })),
    databases: m.databases.map((d) => ({ name: d.name, host: d.host, credentials: d.credentials, size: mb(d.bytes) })),
    mailboxes: m.mailboxes.map((b) => ({ address: b.address, quotaMb: b.quotaMb, used: mb(b.bytes) })),
    aliases: m.aliases.map((a) => ({ address: a.address, to: a.to.join(", ") })),
    hasBackups: m.backups !== undefined,
    backups: (m.backups ?? []).map((b) => ({
      what: b.kind === "home" ? w.backupHome : fill(b.kind === "database" ? w.backupDatabase : w.backupVps, { name: b.object }),
      last: b.lastOk ?? "—",
      state: b.state,
      stateText: w[`bk_${b.state}`],
    })),
    vps: m.vps.map((v) => ({
      name: v.name,
      resources: `${v.vcpus} vCPU, ${v.memoryMb} MB, ${v.diskGb} GB (${v.image})`,
      addresses: [v.fqdn, v.ipv4, v.ipv6].filter(Boolean).join(", "),
      login: v.login,
      state: v.state === undefined ? "—" : (w[`vs_${v.state.replace(/ /g, "_")}` as Word] ?? v.state),
    })),
  };
}
