"""A standard-library-only app that answers GET /NAME with the value of the environment
variable NAME (404 when unset): the config var tests read what the process really got."""
import os
from http.server import BaseHTTPRequestHandler, HTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        name = self.path.lstrip("/")
        value = os.environ.get(name)
        body = (value if value is not None else "unset").encode()
        self.send_response(200 if value is not None else 404)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = HTTPServer(("0.0.0.0", int(os.environ["PORT"])), Handler)
# One line at start, so a process's output reaching the app log can be checked.
print(f"listening on {os.environ['PORT']} as {os.environ.get('DYNO', '?')}", flush=True)
server.serve_forever()
