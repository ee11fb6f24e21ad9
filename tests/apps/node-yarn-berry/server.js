require("http")
  .createServer((req, res) => res.end(require("shout")("node-yarn-berry\n")))
  .listen(Number(process.env.PORT || 5000), "0.0.0.0");
