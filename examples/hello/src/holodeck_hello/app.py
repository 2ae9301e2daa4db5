"""The WSGI application: plain stdlib, so the package has no dependencies to fetch.

Its configuration is an INI file outside the package, at $HOLODECK_CONFIG (Holodeck's service unit
sets it; Salt renders the file per environment): [app] greeting is what / says.
"""

import configparser
import json
import os
from importlib.metadata import version

VERSION = version("holodeck-hello")
DEFAULT_GREETING = "Hello from Holodeck"


def load_greeting(path):
    # No interpolation: values are taken as written, '%' included.
    config = configparser.ConfigParser(interpolation=None)
    if path:
        # Opened, not ConfigParser.read(): a missing or unreadable file is an error, not defaults.
        with open(path, encoding="utf-8") as file:
            config.read_file(file)
    return config.get("app", "greeting", fallback=DEFAULT_GREETING)


GREETING = load_greeting(os.environ.get("HOLODECK_CONFIG"))


def application(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    if path == "/health":
        return _json(start_response, "200 OK", {"status": "ok", "version": VERSION})
    if path == "/":
        return _json(start_response, "200 OK", {"message": GREETING, "version": VERSION})
    return _json(start_response, "404 Not Found", {"error": f"no route for {path}"})


def _json(start_response, status, payload):
    body = json.dumps(payload).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
