"""Listens on $PORT; says which command started it."""
import http.server
import os
import sys

BUILT_WITH = os.environ.get("BUILT_WITH", "buildpacks")
SAYS = f"dockerfile-plain on PORT {os.environ['PORT']} {sys.argv[1]} built with {BUILT_WITH}\n"
SAYS = SAYS.encode()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(SAYS)))
        self.end_headers()
        self.wfile.write(SAYS)


http.server.ThreadingHTTPServer(("", int(os.environ["PORT"])), Handler).serve_forever()
