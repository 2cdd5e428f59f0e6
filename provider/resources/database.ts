import type { ResourceType } from "../types";

/** TODO: being written. */
export const databaseType: ResourceType<any, any> = {
  check: (news) => ({ inputs: news }),
  diff: () => ({ changes: false }),
  create: async () => {
    throw new Error("globenet provider: Database is not implemented yet");
  },
  read: async () => undefined,
  update: async () => {
    throw new Error("globenet provider: Database is not implemented yet");
  },
  delete: async () => undefined,
};
