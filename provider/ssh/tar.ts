import { pack } from "tar-stream";

/** Files as an in-memory tar, to send on stdin to `tar -x`: data, never interpolated into a script. */
export async function tarOf(files: Record<string, string | Buffer>, mode = 0o644): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on("data", (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    p.on("end", () => resolve());
    p.on("error", reject);
  });
  for (const name of Object.keys(files).sort()) {
    if (name.startsWith("/") || name.split("/").includes("..")) throw new Error(`refusing a path outside the file set: ${name}`);
    p.entry({ name, mode, mtime: new Date(0), uname: "root", gname: "root", uid: 0, gid: 0 }, files[name] as string | Buffer);
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}
