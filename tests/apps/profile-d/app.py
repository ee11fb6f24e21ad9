"""A standard-library app that answers with FROM_PROFILE, which its .profile.d script sets
from the config var GREETING and PORT: so the script ran at process start, after both."""
import os
from http.server import BaseHTTPRequestHandler, HTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = (os.environ.get("FROM_PROFILE", "FROM_PROFILE unset") + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


HTTPServer(("0.0.0.0", int(os.environ["PORT"])), Handler).serve_forever()
