import type { VpsModel } from "../../lib/model/types";
import { guestInputs } from "../../components/guest-inputs";
import { NWFILTER_NAME, renderNwfilter } from "../../lib/render";
import type { GuestInputs } from "../../provider/resources/guest-check";
import type { Target } from "../../provider/types";

/** The inputs components/member.ts gives an active VPS of this model on `target` (the full form), filtered whatever its network, with `extra` over them. */
export function guestInputsOf(v: VpsModel, target: Target, extra: Partial<GuestInputs> = {}): GuestInputs {
  return { ...guestInputs(v, target, "/var/backups/globenet-archive", true), nwfilter: { name: NWFILTER_NAME, xml: renderNwfilter() }, ...extra };
}
