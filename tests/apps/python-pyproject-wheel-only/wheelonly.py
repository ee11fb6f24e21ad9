"""The app's module, installed into the virtualenv by a wheel-only build backend."""
from importlib.metadata import version


def greet():
    return f"python-pyproject-wheel-only: wheelonly {version('wheelonly')} installed by pip install ."
