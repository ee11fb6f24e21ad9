"""Listens on 7000 (its EXPOSE), whatever PORT says; paas gives it PORT=7000 anyway."""
import http.server
import os


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = (
            f"dockerfile-expose on 7000, PORT={os.environ.get('PORT')}, "
            f"build arg {os.environ.get('GREETING_AT_BUILD')}\n"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


http.server.ThreadingHTTPServer(("", 7000), Handler).serve_forever()
