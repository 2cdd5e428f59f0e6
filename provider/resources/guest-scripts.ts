/*
 * The constant bash scripts of globenet:vm:Guest: provider/scripts/guest/common.sh (shared
 * functions, its header says the conventions and exit codes), then one file per step. Member
 * values reach them only as positional arguments and on stdin.
 */
import { loadScript } from "../scripts/load";

export const CREATE = loadScript("guest/common.sh", "guest/create.sh");
export const UPDATE = loadScript("guest/common.sh", "guest/update.sh");
export const READ = loadScript("guest/common.sh", "guest/read.sh");
export const DELETE = loadScript("guest/common.sh", "guest/delete.sh");
