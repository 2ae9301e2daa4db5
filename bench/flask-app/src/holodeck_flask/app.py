"""The WSGI app: a greeting and the /health endpoint Holodeck's checks ask for."""
from importlib.metadata import version

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/")
def index():
    return "Hello from Holodeck's Flask benchmark app\n"


@app.get("/health")
def health():
    return jsonify(status="ok", version=version("holodeck-flask"))
