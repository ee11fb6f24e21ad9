// node pkg.js QUERY: facts about ./package.json for bin/compile, one per line.
//   engines  -> "<engines.node>\x1f<satisfied: yes, no or unknown>" (\x1f: ranges hold "|")
//   script X -> the script's text (empty when absent)
//   deps     -> "yes" when dependencies or devDependencies are declared
//   devdeps  -> "yes" when devDependencies are declared
const fs = require("fs");
let pkg = {};
try {
  pkg = JSON.parse(fs.readFileSync("package.json", "utf8"));
} catch (e) {
  console.error("package.json is not valid JSON: " + e.message);
  process.exit(2);
}
const [query, arg] = process.argv.slice(2);
const scripts = pkg.scripts || {};
const has = (o) => o && typeof o === "object" && Object.keys(o).length > 0;
if (query === "engines") {
  const want = (pkg.engines && pkg.engines.node) || "";
  let ok = "unknown";
  if (want) {
    try {
      const semver = require("/usr/share/nodejs/semver");
      ok = semver.satisfies(process.versions.node, want) ? "yes" : "no";
    } catch (e) {
      // No semver module: compare the major version when the range is a plain one.
      const m = /^[\^~>=v ]*(\d+)(\.[\dx*]+)*$/.exec(want.trim());
      if (m) ok = m[1] === process.versions.node.split(".")[0] ? "yes" : "no";
    }
  }
  console.log(want + "\x1f" + ok);
} else if (query === "script") {
  console.log(scripts[arg] || "");
} else if (query === "deps") {
  console.log(has(pkg.dependencies) || has(pkg.devDependencies) || has(pkg.optionalDependencies) ? "yes" : "no");
} else if (query === "devdeps") {
  console.log(has(pkg.devDependencies) ? "yes" : "no");
}
