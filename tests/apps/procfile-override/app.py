"""Python's default web command (`python app.py`) would run this; the Procfile runs
other.py instead."""
raise SystemExit("the buildpack's default command ran instead of the Procfile's")
