"""A minimal PEP 517 build backend: build_wheel only (no build_editable, no sdist)."""
import base64
import hashlib
import os
import zipfile

NAME, VERSION = "wheelonly", "0.2.0"


def _record(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    dist = f"{NAME}-{VERSION}.dist-info"
    with open("wheelonly.py", "rb") as f:
        module = f.read()
    files = {
        "wheelonly.py": module,
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {VERSION}\n".encode(),
        f"{dist}/WHEEL": b"Wheel-Version: 1.0\nGenerator: backend.py\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    name = f"{NAME}-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as wheel:
        lines = []
        for path, data in files.items():
            wheel.writestr(path, data)
            lines.append(_record(path, data))
        lines.append(f"{dist}/RECORD,,")
        wheel.writestr(f"{dist}/RECORD", "\n".join(lines) + "\n")
    return name
