#!/usr/bin/env python3
"""Static file server of the Static buildpack (Python standard library only), on $PORT.

Settings come from static.json at the app's root (Heroku's static buildpack format):
  root         folder served (default: public_html/ when it exists, else the app folder)
  clean_urls   /about serves about.html, and /about.html redirects to /about (default: true)
  error_page   file served with status 404 (default: 404.html in the root, when present)
  routes       {"/app/**": "index.html"}: paths (globs, ** crosses slashes) served by one file
  redirects    {"/old": {"url": "/new", "status": 301}}
  headers      {"/assets/**": {"Cache-Control": "public, max-age=31536000"}}
Dotfiles and, when the root is the app folder itself, the app's own files (static.json,
Procfile) are never served. Conditional requests (ETag, Last-Modified) answer 304, a
precompressed FILE.gz is sent to clients accepting gzip, and files go out with sendfile.
"""

import email.utils
import json
import mimetypes
import os
import posixpath
import re
import signal
import sys
import urllib.parse
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

APP = os.environ.get("STATIC_APP_DIR", os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HIDDEN_AT_APP_ROOT = {"static.json", "Procfile", "app.json", "paas-expect.json", ".slugignore"}

TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".csv": "text/csv; charset=utf-8",
    ".xml": "application/xml",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/x-icon",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".wasm": "application/wasm",
    ".pdf": "application/pdf",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".mp3": "audio/mpeg",
    ".zip": "application/zip",
}


def content_type(path):
    ext = os.path.splitext(path)[1].lower()
    if ext in TYPES:
        return TYPES[ext]
    guess = mimetypes.guess_type(path)[0]
    return guess or "application/octet-stream"


def glob_regex(pattern):
    """static.json globs: ** matches across slashes, * within one segment."""
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile("^" + out + "$")


def load_config():
    path = os.path.join(APP, "static.json")
    config = {}
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            config = json.load(f)
    root = config.get("root")
    if root is None:
        root = "public_html" if os.path.isdir(os.path.join(APP, "public_html")) else "."
    root = os.path.realpath(os.path.join(APP, root))
    error_page = config.get("error_page")
    if error_page is None and os.path.isfile(os.path.join(root, "404.html")):
        error_page = "404.html"
    return {
        "root": root,
        "clean_urls": bool(config.get("clean_urls", True)),
        "error_page": error_page,
        "routes": [(glob_regex(k), v) for k, v in (config.get("routes") or {}).items()],
        "redirects": [
            (glob_regex(k), v if isinstance(v, dict) else {"url": v})
            for k, v in (config.get("redirects") or {}).items()
        ],
        "headers": [(glob_regex(k), v) for k, v in (config.get("headers") or {}).items()],
    }


CONFIG = load_config()
ROOT = CONFIG["root"]
ROOT_IS_APP = ROOT == os.path.realpath(APP)


def resolve(url_path):
    """The file under ROOT a URL path names, or None. Refuses escapes and hidden files."""
    parts = [p for p in url_path.split("/") if p not in ("", ".")]
    if any(p == ".." or p.startswith(".") for p in parts):
        return None
    if ROOT_IS_APP and parts and parts[0] in HIDDEN_AT_APP_ROOT:
        return None
    full = os.path.realpath(os.path.join(ROOT, *parts))
    if full != ROOT and not full.startswith(ROOT + os.sep):
        return None
    return full


class Handler(BaseHTTPRequestHandler):
    server_version = "paas-static"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stdout.write("%s %s\n" % (self.address_string(), fmt % args))
        sys.stdout.flush()

    def do_HEAD(self):
        self.serve(head=True)

    def do_GET(self):
        self.serve(head=False)

    def extra_headers(self, path):
        for regex, headers in CONFIG["headers"]:
            if regex.match(path):
                for k, v in headers.items():
                    self.send_header(k, str(v))

    def redirect(self, location, status=301):
        self.send_response(status)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def find(self, path):
        """(file, redirect location) for a decoded URL path."""
        target = resolve(path)
        if target is None:
            return None, None
        clean = CONFIG["clean_urls"]
        if os.path.isfile(target):
            if clean and path.endswith(".html"):
                bare = path[: -len(".html")]
                if bare == "/index" or bare.endswith("/index"):
                    bare = bare[: -len("index")]
                return None, bare
            return target, None
        if clean and not path.endswith("/"):
            html = resolve(path + ".html")
            if html and os.path.isfile(html):
                return html, None
        if os.path.isdir(target) and os.path.isfile(os.path.join(target, "index.html")):
            if not path.endswith("/"):
                return None, path + "/"
            return os.path.join(target, "index.html"), None
        for regex, file in CONFIG["routes"]:
            if regex.match(path):
                routed = resolve(file)
                if routed and os.path.isfile(routed):
                    return routed, None
        return None, None

    def serve(self, head):
        url = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(url.path) or "/"
        for regex, rule in CONFIG["redirects"]:
            if regex.match(path):
                return self.redirect(rule.get("url", "/"), int(rule.get("status", 301)))
        file, location = self.find(path)
        if location is not None:
            if url.query:
                location += "?" + url.query
            return self.redirect(location)
        status = HTTPStatus.OK
        if file is None:
            status = HTTPStatus.NOT_FOUND
            page = CONFIG["error_page"] and resolve(CONFIG["error_page"])
            if not page or not os.path.isfile(page):
                body = b"404 Not Found\n"
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if not head:
                    self.wfile.write(body)
                return
            file = page
        self.send_file(file, path, status, head)

    def send_file(self, file, path, status, head):
        encoding = None
        sent = file
        if "gzip" in self.headers.get("Accept-Encoding", "") and os.path.isfile(file + ".gz"):
            sent, encoding = file + ".gz", "gzip"
        st = os.stat(sent)
        etag = '"%x-%x"' % (int(st.st_mtime), st.st_size)
        last_modified = email.utils.formatdate(st.st_mtime, usegmt=True)
        if status == HTTPStatus.OK:
            inm = self.headers.get("If-None-Match")
            ims = self.headers.get("If-Modified-Since")
            fresh = inm == etag if inm else (ims == last_modified if ims else False)
            if fresh:
                self.send_response(HTTPStatus.NOT_MODIFIED)
                self.send_header("ETag", etag)
                self.end_headers()
                return
        self.send_response(status)
        self.send_header("Content-Type", content_type(file))
        self.send_header("Content-Length", str(st.st_size))
        if status == HTTPStatus.OK:
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", last_modified)
        if encoding:
            self.send_header("Content-Encoding", encoding)
            self.send_header("Vary", "Accept-Encoding")
        self.extra_headers(path)
        self.end_headers()
        if head:
            return
        with open(sent, "rb") as f:
            try:
                self.wfile.flush()
                self.connection.sendfile(f)
            except (BrokenPipeError, ConnectionResetError):
                pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


def main():
    port = int(os.environ.get("PORT", "5000"))
    server = Server(("0.0.0.0", port), Handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("static: serving %s on port %d (clean URLs %s, 404 page %s)" % (
        os.path.relpath(ROOT, APP), port, "on" if CONFIG["clean_urls"] else "off",
        CONFIG["error_page"] or "none"), flush=True)
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass


if __name__ == "__main__":
    main()
