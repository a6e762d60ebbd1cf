#!/usr/bin/env bash
# Makes sure simdjson's C++ headers and library are installed (Debian's
# libsimdjson-dev), for the bench/baseline/simdjson_extract.cpp baseline that
# bench/pipeline.ts compiles with g++ -O3. Idempotent: exits 0 at once when the
# header is present. Exits 3 with a message when it is missing and apt-get is
# unavailable (or fails), so the benchmark can skip the baseline and say why.
set -euo pipefail

if [ -f /usr/include/simdjson.h ]; then
  echo "simdjson.sh: libsimdjson-dev is installed ($(dpkg-query -W -f='${Version}' libsimdjson-dev 2>/dev/null || echo unknown version))"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "simdjson.sh: /usr/include/simdjson.h is missing and apt-get is unavailable" >&2
  exit 3
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo -n"; fi
if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q libsimdjson-dev >/dev/null; then
  $SUDO apt-get update -q >/dev/null || true
  if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q libsimdjson-dev >/dev/null; then
    echo "simdjson.sh: apt-get install libsimdjson-dev failed" >&2
    exit 3
  fi
fi
echo "simdjson.sh: installed libsimdjson-dev $(dpkg-query -W -f='${Version}' libsimdjson-dev)"
