"""A standard-library app that says which of its files are in the slug: .slugignore removes
secret.txt, the docs folder and every *.psd file before the build."""
import os
from http.server import BaseHTTPRequestHandler, HTTPServer

FILES = ["keep.txt", "secret.txt", "docs", "art/cover.psd", "art/keep.png"]


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = " ".join(f"{f}={'yes' if os.path.exists(f) else 'no'}" for f in FILES)
        body = (body + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


HTTPServer(("0.0.0.0", int(os.environ["PORT"])), Handler).serve_forever()
