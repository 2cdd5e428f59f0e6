/** What the status views print: sizes a volunteer reads at a glance, and aligned columns. */

/** 1536 → "1.5 KiB"; undefined → "-". */
export function humanBytes(b: number | undefined): string {
  if (b === undefined) return "-";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = b;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

/** A header and rows as left-aligned columns two spaces apart, without trailing blanks. */
export function textTable(head: readonly string[], rows: readonly string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((t) => (t[i] ?? "").length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ").trimEnd();
  return [line(head), ...rows.map(line)];
}
