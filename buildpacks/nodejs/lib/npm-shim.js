#!/usr/bin/env node
// `npm` on the run stack, which carries Node.js but not npm: runs package.json scripts the way
// `npm start`, `npm test` and `npm run NAME [-- ARGS]` do (pre/post scripts, node_modules/.bin
// on PATH, npm_package_* and npm_lifecycle_event in the environment, `node server.js` as the
// default start). Named `yarn` (a link), it also runs `yarn SCRIPT` as yarn does. Anything else
// needs the real npm or yarn, which only the build stack has.
const fs = require("fs");
const path = require("path");
const { spawn } = require("child_process");

const argv = process.argv.slice(2);
const tool = path.basename(process.argv[1] || "npm") === "yarn" ? "yarn" : "npm";
const die = (msg) => {
  console.error(`${tool} (paas run stack): ` + msg);
  process.exit(1);
};
let name;
let rest;
const cmd = argv[0];
if (["start", "test", "stop", "restart", "t", "tst"].includes(cmd)) {
  name = { t: "test", tst: "test" }[cmd] || cmd;
  rest = argv.slice(1);
} else if (["run", "run-script", "rum", "urn"].includes(cmd) && argv[1]) {
  name = argv[1];
  rest = argv.slice(2);
} else if (tool === "yarn" && cmd && /^[\w:.-]+$/.test(cmd) && !["install", "add", "remove", "upgrade"].includes(cmd)) {
  name = cmd;
  rest = argv.slice(1);
} else {
  die(`'${tool} ${argv.join(" ")}' needs the real ${tool}, which is only on the build stack; ` +
    `at run time only \`${tool} start\`, \`${tool} test\` and \`${tool} run SCRIPT\` work`);
}
if (rest[0] === "--") rest = rest.slice(1);

// package.json of the current directory or the nearest parent, as npm does.
let dir = process.cwd();
while (!fs.existsSync(path.join(dir, "package.json"))) {
  const up = path.dirname(dir);
  if (up === dir) die("no package.json here or above");
  dir = up;
}
const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
const scripts = pkg.scripts || {};
let main = scripts[name];
if (!main && name === "start" && fs.existsSync(path.join(dir, "server.js"))) main = "node server.js";
if (!main) die(`missing script: "${name}"`);

const quote = (a) => "'" + a.replace(/'/g, "'\\''") + "'";
const env = Object.assign({}, process.env, {
  PATH: [path.join(dir, "node_modules/.bin")].concat((process.env.PATH || "").split(":")).join(":"),
  npm_lifecycle_event: name,
  npm_package_name: pkg.name || "",
  npm_package_version: pkg.version || "",
  npm_package_json: path.join(dir, "package.json"),
  INIT_CWD: process.cwd(),
});
const steps = [];
if (scripts["pre" + name]) steps.push(["pre" + name, scripts["pre" + name]]);
steps.push([name, main + (rest.length ? " " + rest.map(quote).join(" ") : "")]);
if (scripts["post" + name]) steps.push(["post" + name, scripts["post" + name]]);

let child = null;
for (const sig of ["SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"]) {
  // The script runs in its own process group, so the signal reaches the app itself and not
  // only the `sh -c` around it.
  process.on(sig, () => {
    if (!child) process.exit(128);
    try {
      process.kill(-child.pid, sig);
    } catch (e) {
      child.kill(sig);
    }
  });
}
(function run(i) {
  if (i >= steps.length) process.exit(0);
  const [event, script] = steps[i];
  console.error(`\n> ${pkg.name || ""}${pkg.version ? "@" + pkg.version : ""} ${event}\n> ${script}\n`);
  child = spawn("sh", ["-c", script], {
    cwd: dir,
    stdio: "inherit",
    detached: true,
    env: Object.assign({}, env, { npm_lifecycle_event: event, npm_lifecycle_script: script }),
  });
  child.on("exit", (code, signal) => {
    child = null;
    if (signal) process.exit(128 + (require("os").constants.signals[signal] || 0));
    else if (code !== 0) process.exit(code);
    else run(i + 1);
  });
})(0);
