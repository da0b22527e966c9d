#!/usr/bin/env bash
# Idempotent: install Debian's redis-server for the shared-frontier tests
# (tests/test_redis_workers.py start their own server on a free 127.0.0.1 port; the
# package's system service is not needed and is left as Debian sets it up). Needs root, as
# CI has. Does nothing when redis-server is already on PATH.
set -euo pipefail
if command -v redis-server >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install_redis.sh: needs root to apt-get install redis-server" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends redis-server >/dev/null
command -v redis-server >/dev/null
