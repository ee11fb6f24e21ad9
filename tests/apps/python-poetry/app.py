"""A stdlib HTTP server that reports the version of a dependency poetry.lock pinned."""
import os
from http.server import BaseHTTPRequestHandler, HTTPServer

import six


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"python-poetry: six {six.__version__} from poetry.lock\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


HTTPServer(("0.0.0.0", int(os.environ["PORT"])), Handler).serve_forever()
