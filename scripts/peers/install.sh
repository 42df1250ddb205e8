#!/bin/bash
# Installs every package the end-to-end suite needs (Debian 12), idempotently:
# Prosody, ejabberd, Kamailio (+ SQLite modules, sqlite3), SIPp, baresip and sox, with no
# daemon started by dpkg (policy-rc.d guard, see lib.sh). `apt-get update` runs only on a
# machine without lists.
#   scripts/peers/install.sh
set -euo pipefail
dir="$(cd "$(dirname "$0")" && pwd)"
"$dir/prosody.sh" install
"$dir/ejabberd.sh" install
"$dir/kamailio.sh" install
"$dir/sipp.sh" install
"$dir/baresip.sh" install
