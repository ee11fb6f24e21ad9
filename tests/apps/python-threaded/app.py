"""A standard-library app that serves requests on threads with a deep accept queue, so many
concurrent clients are answered without waiting on each other: the zero-downtime tests keep
16 requests in flight against it. It answers with its release's GREETING and its DYNO."""
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"{os.environ.get('GREETING', 'hello')} from {os.environ.get('DYNO', '?')}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server(ThreadingHTTPServer):
    request_queue_size = 256
    daemon_threads = True


Server(("0.0.0.0", int(os.environ["PORT"])), Handler).serve_forever()
