"""Runs the app under gunicorn: holodeck-flask [--bind HOST:PORT] [gunicorn options]."""
import sys

from gunicorn.app.wsgiapp import run


def main():
    sys.argv = [sys.argv[0], *sys.argv[1:], "holodeck_flask.app:app"]
    run()


if __name__ == "__main__":
    main()
