"""A stdlib HTTP server answering with greeting.greet() from the installed project."""
import os
from http.server import BaseHTTPRequestHandler, HTTPServer

from greeting import greet


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = (greet() + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


HTTPServer(("0.0.0.0", int(os.environ["PORT"])), Handler).serve_forever()
