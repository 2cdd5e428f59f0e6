/**
 * The layers of the code, lowest first: a file may import from its own layer and the layers
 * below it, never from a layer above. This list is the one definition; tests/layers.test.ts
 * reads every .ts file of the repository and fails on an upward import or on a file that
 * belongs to no layer, and docs/architecture.md ("Layers") explains the order.
 *
 * A layer holds folders ("lib/check/") or single files ("index.ts"); the longest match wins.
 */
export interface Layer {
  name: string;
  paths: readonly string[];
  /** What lives here: why it sits where it sits. */
  holds: string;
}

export const LAYERS: readonly Layer[] = [
  { name: "base", paths: ["lib/base/", "lib/i18n/", "lib/host/"], holds: "type tokens, the repository root, process helpers, message language, facts about this machine" },
  { name: "schema", paths: ["lib/schema/"], holds: "zod schemas and name rules of the data files" },
  { name: "load", paths: ["lib/load/"], holds: "reading YAML files into schema values with positions; diagnostics" },
  { name: "model", paths: ["lib/model/"], holds: "the model's types and pure helpers (paths, DNS names, MACs, machine facts as a type)" },
  { name: "check", paths: ["lib/check/"], holds: "building the model from the loaded files while checking them across files (loadModel)" },
  { name: "render", paths: ["lib/render/"], holds: "pure renderers: model to config files" },
  { name: "provider", paths: ["provider/"], holds: "the Pulumi provider: resources over SSH" },
  { name: "components", paths: ["components/", "index.ts"], holds: "ComponentResources and the Pulumi program" },
  { name: "state", paths: ["lib/state/"], holds: "where stacks' state lives: backends, locks, update messages" },
  { name: "engine", paths: ["lib/engine/"], holds: "the Pulumi CLI, the compiled provider, the driver, the state commands' work" },
  { name: "guard", paths: ["lib/guard/"], holds: "the destructive-change guard on a plan" },
  { name: "diff", paths: ["lib/diff/"], holds: "rendered files of two revisions compared" },
  { name: "audit", paths: ["lib/audit/"], holds: "what changed, when and by whom (git and the stack's history)" },
  { name: "status", paths: ["lib/status/"], holds: "live views of the hosts (certificates, DNSSEC) over the provider's SSH" },
  { name: "scaffold", paths: ["lib/scaffold/"], holds: "npm run new: new members, sites, VPS" },
  { name: "import", paths: ["lib/import/"], holds: "adopting what already runs: a live host read through an allowlist of read-only scripts, turned into data files to review" },
  { name: "ci", paths: ["lib/ci/"], holds: "merge-request previews and notes" },
  { name: "lab", paths: ["lib/lab/"], holds: "the lab: daemons on this machine, its keys, opening stacks with them" },
  { name: "bench", paths: ["lib/bench/"], holds: "measurements on synthetic trees, and a new member's time to service on the lab" },
  { name: "portal", paths: ["lib/portal/"], holds: "the member portal: a web page where a member sees their own services (reads the data and the status views, the lab's CA for its certificate)" },
  { name: "cli", paths: ["lib/cli/"], holds: "the commands: arguments, help, exit codes" },
];

/** The index in LAYERS of the layer holding `file` (repository-relative, "/"-separated); undefined when none does. */
export function layerOf(file: string): number | undefined {
  let best: { index: number; length: number } | undefined;
  LAYERS.forEach((layer, index) => {
    for (const p of layer.paths) {
      const hit = p.endsWith("/") ? file.startsWith(p) : file === p;
      if (hit && (!best || p.length > best.length)) best = { index, length: p.length };
    }
  });
  return best?.index;
}

/** One relative import of one file: where it is and the file it resolves to. */
export interface ImportEdge {
  file: string;
  line: number;
  /** As written: "../cli/args". */
  specifier: string;
  /** Repository-relative, without extension: "lib/cli/args". */
  target: string;
}

export interface LayerProblem {
  file: string;
  line: number;
  specifier: string;
  message: string;
}

/** The upward imports among `edges`, and files (or targets) that belong to no layer. */
export function layerProblems(edges: readonly ImportEdge[], files: readonly string[]): LayerProblem[] {
  const out: LayerProblem[] = [];
  for (const f of files) {
    if (layerOf(f) === undefined) out.push({ file: f, line: 1, specifier: "", message: `${f} belongs to no layer: add its folder to LAYERS in lib/base/layers.ts, at the layer it belongs to` });
  }
  for (const e of edges) {
    const from = layerOf(e.file);
    const to = layerOf(e.target) ?? layerOf(`${e.target}.ts`) ?? layerOf(`${e.target}/index.ts`);
    if (from === undefined) continue;
    if (to === undefined) {
      out.push({ ...pick(e), message: `${e.file}:${e.line} imports "${e.specifier}" (${e.target}), which belongs to no layer` });
    } else if (to > from) {
      const a = LAYERS[from] as Layer;
      const b = LAYERS[to] as Layer;
      out.push({
        ...pick(e),
        message: `${e.file}:${e.line} imports "${e.specifier}": layer ${a.name} (${from}) must not import layer ${b.name} (${to}), which is above it (move the code it needs down, or pass it in as an argument)`,
      });
    }
  }
  return out;
}

function pick(e: ImportEdge): Omit<LayerProblem, "message"> {
  return { file: e.file, line: e.line, specifier: e.specifier };
}
