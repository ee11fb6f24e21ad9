"""The app's own module, installed (editable) with its dependencies by `pip install -e .`."""
from importlib.metadata import version

import six


def greet():
    return f"python-pyproject: greeting {version('greeting')} installed by pip with six {six.__version__}"
