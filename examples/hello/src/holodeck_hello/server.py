"""Console script: serve the WSGI app over HTTP with the stdlib's wsgiref."""

import argparse
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from holodeck_hello.app import VERSION, application


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the stdlib's signature
        pass


def main(argv=None):
    parser = argparse.ArgumentParser(prog="holodeck-hello", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    args = parser.parse_args(argv)
    with make_server(args.host, args.port, application, ThreadingWSGIServer, QuietHandler) as server:
        print(f"holodeck-hello {VERSION} listening on http://{args.host}:{server.server_port}", flush=True)
        server.serve_forever()


if __name__ == "__main__":
    main()
