#!/bin/bash
# Process launcher of every release image: /.paas/launch COMMAND
# Sources the app's .profile.d scripts (after config vars and PORT are in the environment),
# then runs the Procfile command with bash, as Heroku does.
cd /app || exit 1
export HOME=/app
if [ -d /app/.profile.d ]; then
  for profile in /app/.profile.d/*.sh; do
    [ -r "$profile" ] && . "$profile"
  done
  unset profile
fi
exec bash -c "$1"
