import type { ResourceType } from "../types";

/** TODO: being written. */
export const accountType: ResourceType<any, any> = {
  check: (news) => ({ inputs: news }),
  diff: () => ({ changes: false }),
  create: async () => {
    throw new Error("globenet provider: Account is not implemented yet");
  },
  read: async () => undefined,
  update: async () => {
    throw new Error("globenet provider: Account is not implemented yet");
  },
  delete: async () => undefined,
};
