// Checks field names against the Kubernetes API types: each rendered object
// becomes a typed object literal in a TypeScript file (kubernetes-types), and
// `tsc --noEmit --strict` reports any field the type does not have (a
// misspelt `readinesProbe` or `prot`), which JSON-schema validation lets
// through, as well as wrong types.
//
//   node types.mjs OUT_DIR FILE.json...   (tests/helm/check runs it)
// OUT_DIR must be inside tests/helm, where node_modules/kubernetes-types is found.
// Exit status: tsc's (0 when every object type-checks).
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const [outDir, ...files] = process.argv.slice(2);

// "apps/v1" -> kubernetes-types/apps/v1, "v1" -> core/v1,
// "networking.k8s.io/v1" -> networking/v1.
function typesModule(apiVersion) {
  const parts = apiVersion.split("/");
  if (parts.length === 1) return `kubernetes-types/core/${parts[0]}`;
  return `kubernetes-types/${parts[0].split(".")[0]}/${parts[1]}`;
}

const imports = new Map();
const bodies = [];
let n = 0;
for (const file of files) {
  for (const obj of JSON.parse(readFileSync(file, "utf8"))) {
    const mod = typesModule(obj.apiVersion);
    const alias = `${obj.kind}_${mod.replace(/[^A-Za-z0-9]/g, "_")}`;
    if (!imports.has(alias)) imports.set(alias, `import type { ${obj.kind} as ${alias} } from "${mod}";`);
    bodies.push(`// ${file}: ${obj.kind}/${obj.metadata?.name}\nexport const o${n++}: ${alias} = ${JSON.stringify(obj, null, 2)};`);
  }
}
mkdirSync(outDir, { recursive: true });
const ts = join(resolve(outDir), "objects.ts");
writeFileSync(ts, [...imports.values(), "", ...bodies, ""].join("\n"));
const tsc = spawnSync(
  process.execPath,
  [join(here, "node_modules/typescript/bin/tsc"), "--noEmit", "--strict", "--target", "es2020",
   "--module", "esnext", "--moduleResolution", "bundler", ts],
  { stdio: "inherit", cwd: here },
);
console.log(`types: ${n} objects ${tsc.status === 0 ? "type-check" : "do NOT type-check"} (kubernetes-types, tsc --strict)`);
process.exit(tsc.status ?? 1);
