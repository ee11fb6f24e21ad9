"""A stdlib HTTP server answering with wheelonly.greet() from the installed project."""
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

# Import the installed copy, not the source beside this script.
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]
import wheelonly  # noqa: E402


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = (wheelonly.greet() + " from " + os.path.dirname(wheelonly.__file__).split("/")[-1] + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


HTTPServer(("0.0.0.0", int(os.environ["PORT"])), Handler).serve_forever()
