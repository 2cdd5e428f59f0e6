import { join } from "node:path";
import { openStack } from "./lib/engine/driver";
import { envFor } from "./lib/bench/engine";
import { shardStackName } from "./lib/model/shards";
(async () => {
  const dir = process.argv[2] as string, shard = process.argv[3] as string;
  const stack = await openStack({ root: join(dir, "data"), stack: shardStackName("bench", shard), env: envFor(dir, "program") });
  for (let i = 0; i < Number(process.argv[4] ?? 1); i++) {
    const t = performance.now();
    const r = await stack.preview({ color: "never" });
    console.log(shard, "preview", ((performance.now() - t) / 1000).toFixed(2), "s", JSON.stringify(r.changeSummary));
  }
})();
