/**
 * The merge request a commit message names, as "!12" or "group/project!12":
 * GitLab's merge commit ("See merge request group/project!12"), a squash or title
 * suffix ("(!12)"), or a trailer ("Merge-Request: !12", "Part-of: group/project!12").
 * The first mention wins; undefined when there is none.
 */
export function mergeRequestOf(message: string): string | undefined {
  const patterns = [
    /See merge request ((?:[\w.-]+\/)*[\w.-]+)?!(\d+)/,
    /^(?:Merge-Request|Merge-request|Part-of|MR):\s*((?:[\w.-]+\/)*[\w.-]+)?!(\d+)\s*$/im,
    /\(((?:[\w.-]+\/)*[\w.-]+)?!(\d+)\)/,
  ];
  for (const re of patterns) {
    const m = re.exec(message);
    if (m) return `${m[1] ?? ""}!${m[2]}`;
  }
  return undefined;
}
