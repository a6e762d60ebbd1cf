#!/usr/bin/env bash
# Makes a throwaway certificate authority and a server certificate it signs,
# for the tests' TLS endpoints (Flight, admin, the Kafka broker) on loopback:
#   DIR/ca.pem      the CA certificate: what clients are told to trust
#   DIR/server.pem  the server certificate, for 127.0.0.1 and localhost
#   DIR/server.key  its private key, unencrypted PKCS#8 (what Kafka's PEM keystore reads)
# Idempotent: a DIR that already holds all three, valid for another day, is
# left alone; otherwise all three are made anew. The keys are test-only and
# never leave DIR (default .cache/tls, gitignored).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DIR="${1:-$ROOT/.cache/tls}"
DAYS=30

command -v openssl >/dev/null || { echo "test-certs.sh: openssl is not installed" >&2; exit 1; }
valid_for_a_day() { openssl x509 -checkend 86400 -noout -in "$1" >/dev/null 2>&1; }
if [ -s "$DIR/server.key" ] && valid_for_a_day "$DIR/ca.pem" && valid_for_a_day "$DIR/server.pem"; then exit 0; fi

mkdir -p "$DIR"
WORK="$(mktemp -d "$DIR/.make.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days "$DAYS" \
  -subj "/CN=sigma test CA" -keyout "$WORK/ca.key" -out "$WORK/ca.pem" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -subj "/CN=127.0.0.1" -keyout "$WORK/server.key" -out "$WORK/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > "$WORK/server.ext"
openssl x509 -req -days "$DAYS" -in "$WORK/server.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" \
  -CAcreateserial -extfile "$WORK/server.ext" -out "$WORK/server.pem" 2>/dev/null
# openssl writes EC keys as PKCS#8 already in 3.x; converting says so for older ones too.
openssl pkcs8 -topk8 -nocrypt -in "$WORK/server.key" -out "$WORK/server.pk8"

# Moved into place last, so an interrupted run leaves no half set behind.
mv "$WORK/ca.pem" "$DIR/ca.pem"
mv "$WORK/server.pk8" "$DIR/server.key"
mv "$WORK/server.pem" "$DIR/server.pem"
echo "test-certs.sh: CA and server certificate in $DIR"
