#!/usr/bin/env bash
# Makes sure Go 1.26 is installed, for scripts/test.sh and scripts/demo.sh.
# On a machine without it: Debian's golang-go (too old to build Fargo, but
# a module client) fetches the official toolchain module
# golang.org/toolchain from the configured Go module proxy, which is then
# copied to $GO_DEST (default /usr/local/go). Safe to run again.
set -euo pipefail
GO_VERSION=${GO_VERSION:-1.26.8}
GO_DEST=${GO_DEST:-/usr/local/go}
export PATH="$GO_DEST/bin:$PATH"

have_go() {
  command -v go >/dev/null || return 1
  local minor
  minor=$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')
  [ "${minor:-0}" -ge 26 ]
}

if have_go; then
  exit 0
fi
echo "installing Go $GO_VERSION into $GO_DEST" >&2
export DEBIAN_FRONTEND=noninteractive
if [ ! -x /usr/lib/go/bin/go ] && ! command -v go >/dev/null; then
  [ -n "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -print -quit 2>/dev/null)" ] || apt-get update
  apt-get install -y --no-install-recommends golang-go ca-certificates unzip >&2
fi
bootstrap=$(command -v go || echo /usr/lib/go/bin/go)
arch=$(dpkg --print-architecture)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A throwaway GOPATH: the module cache files are read-only and the copy below is what stays.
zip=$(cd "$work" && GOPATH="$work/gopath" GOFLAGS=-mod=mod "$bootstrap" mod download -json \
  "golang.org/toolchain@v0.0.1-go${GO_VERSION}.linux-${arch}" | sed -nE 's/^\s*"Zip": "(.*)",?$/\1/p')
[ -f "$zip" ] || { echo "could not download the Go $GO_VERSION toolchain module" >&2; exit 1; }
unzip -q "$zip" -d "$work/unpacked"
rm -rf "$GO_DEST"
mkdir -p "$(dirname "$GO_DEST")"
mv "$work/unpacked/golang.org/toolchain@v0.0.1-go${GO_VERSION}.linux-${arch}" "$GO_DEST"
chmod -R u+w "$work/gopath" 2>/dev/null || true
"$GO_DEST/bin/go" version
