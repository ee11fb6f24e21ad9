"""A tiny Flask app: answers with a greeting that names the Flask version it runs on."""
import os
from importlib.metadata import version

from flask import Flask

app = Flask(__name__)
GREETING = "Hello from paas"


@app.route("/")
def index():
    return f"{GREETING} (flask {version('flask')})\n"


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=int(os.environ["PORT"]))
