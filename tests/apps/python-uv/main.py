"""An ASGI app with no Procfile: the buildpack guesses `uvicorn main:app` (uvicorn from uv.lock)."""
from importlib.metadata import version


async def app(scope, receive, send):
    assert scope["type"] == "http"
    body = f"python-uv: served by uvicorn {version('uvicorn')} from uv.lock\n".encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body})
