import type { MemberModel } from "../model/types";
import { crontabCommand, lineComment, UnsafeValueError } from "./escape";
import { renderTemplate } from "./handlebars";
import { generatedNotice } from "./notice";

/** The lines that open and close the block of a member's crontab that git manages. */
export const CRON_BLOCK_BEGIN = "# BEGIN globenet";
export const CRON_BLOCK_END = "# END globenet";

/**
 * The member's jobs as the block the provider keeps at the end of its crontab (the member's
 * own jobs stay above it). Empty when the member has no job: the provider then removes the
 * block. MAILTO sends each job's output to the member's contact.
 */
export function renderCronBlock(member: Pick<MemberModel, "handle" | "email" | "cron" | "file">): string {
  if (member.cron.length === 0) return "";
  // The schema allows no space or line break in an address; this is the second wall.
  if (!/^[^\s@]+@[^\s@]+$/.test(member.email)) throw new UnsafeValueError("MAILTO", member.email, "not one plain e-mail address");
  return renderTemplate("crontab-block", {
    notice: lineComment(generatedNotice(member.file)),
    handle: member.handle,
    mailto: member.email,
    jobs: member.cron.map((j) => ({ schedule: j.schedule.trim().replace(/\s+/g, " "), command: crontabCommand(j.command), comment: j.comment ? lineComment(j.comment) : "" })),
  });
}
