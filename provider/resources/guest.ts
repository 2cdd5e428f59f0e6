import type { ResourceType } from "../types";

/** TODO: being written. */
export const guestType: ResourceType<any, any> = {
  check: (news) => ({ inputs: news }),
  diff: () => ({ changes: false }),
  create: async () => {
    throw new Error("globenet provider: Guest is not implemented yet");
  },
  read: async () => undefined,
  update: async () => {
    throw new Error("globenet provider: Guest is not implemented yet");
  },
  delete: async () => undefined,
};
