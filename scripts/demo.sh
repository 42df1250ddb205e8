#!/usr/bin/env bash
# Fargo demo, the README's first command: installs Go if it is missing,
# builds bin/fargo and runs `fargo demo`, which installs Prosody if it is
# missing (apt-get, once), starts a private Prosody, the gateway and the SIP
# echo on 127.0.0.1, has an XMPP user register her SIP account and call the
# SIP echo and the gateway's echo contact through the gateway, reports what
# came back, and stops everything. Flags go to `fargo demo` (bin/fargo demo -h).
# The longer demo with real SIP phones (Kamailio, baresip) is
# scripts/demo-phones.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
scripts/install-go.sh
go build -o bin/fargo ./cmd/fargo
exec bin/fargo demo "$@"
