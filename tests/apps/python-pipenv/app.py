"""A WSGI app with no Procfile: the buildpack guesses `gunicorn app:app` (gunicorn from Pipfile.lock)."""
from importlib.metadata import version


def app(environ, start_response):
    body = f"python-pipenv: served by gunicorn {version('gunicorn')} from Pipfile.lock\n".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
