const fs = require("fs");
const http = require("http");
const { greet } = require("greeter");
const banner = fs.readFileSync(__dirname + "/dist/banner.txt", "utf8").trim();
http
  .createServer((req, res) => {
    res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8" });
    res.end(`${greet("node-vendored")}; ${banner}\n`);
  })
  .listen(Number(process.env.PORT || 5000), "0.0.0.0");
process.on("SIGTERM", () => process.exit(0));
