"""A PEP 517 build backend that hangs, standing in for a build that never finishes."""
import time

print("backend loaded; sleeping", flush=True)
time.sleep(3600)
