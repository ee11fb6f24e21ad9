"""A PEP 517 build backend that fills memory, standing in for a build that needs more than the
build's memory limit."""
chunks = []
print("backend loaded; filling memory", flush=True)
while True:
    chunks.append(b"x" * (16 << 20))
