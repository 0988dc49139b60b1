// Validates Kubernetes objects against the API's schemas with kubernetes-models
// (and @kubernetes-models/validate, which it uses): types, required fields,
// enums, and unknown kinds or API versions.
//
//   node validate.mjs FILE.json...   each FILE a JSON array of objects
//                                    (tests/helm/check converts helm's YAML)
// Prints one line per problem; exit status 1 if any, 0 if none.
import { readFileSync } from "node:fs";

// apiVersion "apps/v1" -> "kubernetes-models/apps/v1/Deployment"; "v1" -> "kubernetes-models/v1/Service".
function modulePath(apiVersion, kind) {
  return `kubernetes-models/${apiVersion}/${kind}`;
}

let problems = 0;
let checked = 0;
for (const file of process.argv.slice(2)) {
  const objects = JSON.parse(readFileSync(file, "utf8"));
  for (const obj of objects) {
    const where = `${file}: ${obj.kind ?? "?"}/${obj.metadata?.name ?? "?"}`;
    if (typeof obj.apiVersion !== "string" || typeof obj.kind !== "string") {
      console.log(`${where}: no apiVersion or kind`);
      problems++;
      continue;
    }
    let Model;
    try {
      Model = (await import(modulePath(obj.apiVersion, obj.kind)))[obj.kind];
    } catch {
      Model = undefined;
    }
    if (typeof Model !== "function") {
      console.log(`${where}: unknown kind ${obj.kind} in ${obj.apiVersion}`);
      problems++;
      continue;
    }
    try {
      new Model(obj).validate();
      checked++;
    } catch (err) {
      const details = Array.isArray(err.errors)
        ? err.errors.map((e) => `${e.instancePath || "/"} ${e.message}`).join("; ")
        : String(err.message ?? err);
      console.log(`${where}: ${details}`);
      problems++;
    }
  }
}
console.log(`validate: ${checked} objects valid, ${problems} problems`);
process.exit(problems ? 1 : 0);
