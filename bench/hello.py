"""The true bare limit: a hello-world Flask app, served by `make bench` under the same
gunicorn settings as the app, so that a page's share is read against Flask itself as
well as against the app's own /healthz."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "ok"
