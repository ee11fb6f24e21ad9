const fs = require("fs");
const http = require("http");
const shout = require("shout");
const info = fs.readFileSync(__dirname + "/build-info.txt", "utf8").trim();
// yarn leaves node_modules/.yarn-integrity; npm and pnpm do not.
const tool = fs.existsSync(__dirname + "/node_modules/.yarn-integrity") ? "yarn" : "not yarn";
const devGone = !fs.existsSync(__dirname + "/node_modules/stamp");
http
  .createServer((req, res) => {
    res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8" });
    res.end(`${shout("node-yarn installed by " + tool)} ${info}; devDependencies pruned: ${devGone}\n`);
  })
  .listen(Number(process.env.PORT || 5000), "0.0.0.0");
process.on("SIGTERM", () => process.exit(0));
