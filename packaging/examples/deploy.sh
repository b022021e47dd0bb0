#!/bin/sh
# Example deploy of myapp VERSION on an app server running `rookery mount /releases`.
#   deploy.sh 1.4.2        prefetch, flip /srv/myapp/current, restart, roll back if unhealthy
set -eu
version=$1
link=/srv/myapp/current
# Lazy start: flip at once and let the service fault in what it reads. For a full copy first,
# use --wait full (the flip then happens only when every piece is verified).
rookery activate "$version" --link "$link" --wait none
systemctl restart myapp
if ! curl -fsS --retry 10 --retry-delay 1 --retry-connrefused http://127.0.0.1:8080/health >/dev/null; then
  echo "myapp $version is unhealthy: rolling back" >&2
  rookery rollback --link "$link"
  systemctl restart myapp
  exit 1
fi
# Meanwhile keep fetching the rest in the background (a full seed for the next hosts).
rookery prefetch "$version" --timeout 3600 >/dev/null 2>&1 &
echo "myapp $version is live"
