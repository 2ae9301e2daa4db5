"""The WSGI application: plain stdlib, so the package has no dependencies to fetch."""

import json
from importlib.metadata import version

VERSION = version("holodeck-hello")


def application(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    if path == "/health":
        return _json(start_response, "200 OK", {"status": "ok", "version": VERSION})
    if path == "/":
        return _json(start_response, "200 OK", {"message": "Hello from Holodeck", "version": VERSION})
    return _json(start_response, "404 Not Found", {"error": f"no route for {path}"})


def _json(start_response, status, payload):
    body = json.dumps(payload).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
