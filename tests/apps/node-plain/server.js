const http = require("http");
const port = Number(process.env.PORT || 5000);
http
  .createServer((req, res) => {
    res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8" });
    res.end(`node-plain says hello from Node.js ${process.version} (NODE_ENV=${process.env.NODE_ENV}, ${req.url})\n`);
  })
  .listen(port, "0.0.0.0", () => console.log(`node-plain listening on ${port}`));
process.on("SIGTERM", () => {
  console.log("node-plain: SIGTERM, shutting down");
  process.exit(0);
});
