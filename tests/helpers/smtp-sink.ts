/**
 * A minimal SMTP server that keeps every message it is given (tests only): the greeting,
 * EHLO/HELO, MAIL, RCPT, DATA (dot-unstuffed), RSET, NOOP, QUIT. No STARTTLS, no AUTH: what a
 * client that does not require them sends (Alertmanager with require_tls: false, the mail host
 * relaying a forward). The outside world of a mail test: nothing goes further. Addresses are
 * kept without their angle brackets.
 */
import { createServer, type AddressInfo, type Server } from "node:net";

export interface SinkMessage {
  from: string;
  to: string[];
  data: string;
  /** The address the sending server connected from (what a receiver's SPF check is of). */
  client: string;
}

export interface SmtpSink {
  port: number;
  messages: SinkMessage[];
  close(): Promise<void>;
}

/** Listens on `host`:`port` (0: a free port, given back in `port`). */
export async function startSmtpSink(port = 0, host = "127.0.0.1"): Promise<SmtpSink> {
  const messages: SinkMessage[] = [];
  const server: Server = createServer((sock) => {
    let buf = "";
    let inData = false;
    let data: string[] = [];
    let cur: { from: string; to: string[] } = { from: "", to: [] };
    const say = (s: string) => sock.write(`${s}\r\n`);
    say("220 sink.test ESMTP test sink");
    sock.on("data", (chunk) => {
      buf += chunk.toString("utf8");
      let i: number;
      while ((i = buf.indexOf("\r\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (inData) {
          if (line === ".") {
            messages.push({ ...cur, data: data.join("\r\n"), client: sock.remoteAddress ?? "" });
            inData = false;
            data = [];
            cur = { from: "", to: [] };
            say("250 2.0.0 queued");
          } else data.push(line.startsWith("..") ? line.slice(1) : line);
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === "EHLO") sock.write("250-sink.test\r\n250-8BITMIME\r\n250 SIZE 10240000\r\n");
        else if (verb === "HELO") say("250 sink.test");
        else if (verb === "MAIL") {
          cur.from = /<([^>]*)>/.exec(line)?.[1] ?? "";
          say("250 2.1.0 ok");
        } else if (verb === "RCPT") {
          cur.to.push(/<([^>]*)>/.exec(line)?.[1] ?? "");
          say("250 2.1.5 ok");
        } else if (verb === "DATA") {
          inData = true;
          say("354 end with <CRLF>.<CRLF>");
        } else if (verb === "RSET") {
          cur = { from: "", to: [] };
          say("250 ok");
        } else if (verb === "NOOP") say("250 ok");
        else if (verb === "QUIT") {
          say("221 bye");
          sock.end();
        } else say("502 5.5.2 not implemented");
      }
    });
    sock.on("error", () => undefined);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    messages,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A message's text with quoted-printable undone (soft line breaks, =XX bytes read as UTF-8), enough to search it. */
export function plainText(data: string): string {
  const joined = data.replace(/=\r\n/g, "");
  return joined.replace(/(?:=[0-9A-F]{2})+/g, (run) => Buffer.from(run.replace(/=/g, ""), "hex").toString("utf8"));
}

/** A header of the message, RFC 2047 encoded words (=?UTF-8?q?…?= or ?b?) decoded; undefined when absent. */
export function headerOf(data: string, name: string): string | undefined {
  const head = data.split(/\r?\n\r?\n/)[0] ?? "";
  const raw = new RegExp(`^${name}:[ \\t]*(.*(?:\\r?\\n[ \\t].*)*)`, "im").exec(head)?.[1];
  if (raw === undefined) return undefined;
  return raw
    .replace(/\r?\n[ \t]/g, " ")
    .replace(/\?=\s+=\?/g, "?==?")
    .replace(/=\?([^?]+)\?([qQbB])\?([^?]*)\?=/g, (_m, _cs: string, enc: string, text: string) =>
      enc.toLowerCase() === "b" ? Buffer.from(text, "base64").toString("utf8") : Buffer.from(text.replace(/_/g, " ").replace(/=([0-9A-Fa-f]{2})/g, (_x, h: string) => String.fromCharCode(parseInt(h, 16))), "latin1").toString("utf8"),
    )
    .trim();
}
