import { createServer, type Server } from "node:net";

/**
 * The outside world of a mail test: an SMTP server that takes whatever it is handed and keeps
 * each message's envelope and text (nothing goes further). The mail host's relay points at it.
 */
export interface SunkMessage {
  from: string;
  to: string[];
  data: string;
}

export interface SmtpSink {
  messages: SunkMessage[];
  close(): Promise<void>;
}

export function startSmtpSink(port: number, host: string): Promise<SmtpSink> {
  const messages: SunkMessage[] = [];
  const server: Server = createServer((c) => {
    let data = "";
    let inData = false;
    let env: SunkMessage = { from: "", to: [], data: "" };
    c.write("220 sink ESMTP\r\n");
    c.on("error", () => c.destroy());
    c.on("data", (b: Buffer) => {
      for (const line of b.toString().split(/(?<=\r\n)/)) {
        if (inData) {
          data += line;
          if (data.endsWith("\r\n.\r\n")) {
            inData = false;
            messages.push({ ...env, data });
            env = { from: "", to: [], data: "" };
            data = "";
            c.write("250 ok\r\n");
          }
        } else if (/^DATA/i.test(line)) {
          inData = true;
          c.write("354 go\r\n");
        } else if (/^QUIT/i.test(line)) c.end("221 bye\r\n");
        else if (/^(EHLO|HELO)/i.test(line)) c.write("250 sink\r\n");
        else if (/^MAIL FROM:/i.test(line)) {
          env.from = /<([^>]*)>/.exec(line)?.[1] ?? "";
          c.write("250 ok\r\n");
        } else if (/^RCPT TO:/i.test(line)) {
          env.to.push(/<([^>]*)>/.exec(line)?.[1] ?? "");
          c.write("250 ok\r\n");
        } else if (line.trim()) c.write("250 ok\r\n");
      }
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve({ messages, close: () => new Promise<void>((r) => server.close(() => r())) }));
  });
}
