#!/usr/bin/env bash
# The whole Fargo test suite, as CI runs it (.ci/run calls exactly this):
# installs the real peers (Prosody, ejabberd, Kamailio, SIPp) from Debian,
# then checks formatting and vet, runs every test with the race detector
# (unit tests and the end-to-end tests against the real peers), runs every
# Go benchmark once as a smoke test, and runs every fuzz target briefly on
# its seed corpus. Safe to run again.
#
#   scripts/test.sh            everything
#   FUZZTIME=2000000x scripts/test.sh   longer fuzzing (executions per target; a count, not a duration, so a busy machine cannot time a target out)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$HOME/go/bin:$PATH"
FUZZTIME=${FUZZTIME:-100000x}

step() { printf '\n== %s\n' "$*"; }

step "toolchain"
scripts/install-go.sh
go version
# The race detector needs cgo, hence a C compiler.
if ! command -v gcc >/dev/null; then
  [ -n "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -print -quit 2>/dev/null)" ] || apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends gcc libc6-dev
fi

step "install the real peers (apt-get, idempotent)"
scripts/peers/install.sh

step "modules"
go mod download
go mod verify
# modernc.org/sqlite only works with the exact modernc.org/libc it was released with.
want=$(go mod graph | awk '$1 ~ /^modernc.org\/sqlite@/ && $2 ~ /^modernc.org\/libc@/ {sub(/.*@/, "", $2); print $2; exit}')
have=$(go list -m -f '{{.Version}}' modernc.org/libc)
if [ "$want" != "$have" ]; then
  echo "modernc.org/libc is $have but modernc.org/sqlite needs $want: never bump libc on its own" >&2
  exit 1
fi

step "gofmt"
unformatted=$(git ls-files -z '*.go' | xargs -0 gofmt -l)
if [ -n "$unformatted" ]; then
  echo "gofmt would change:" >&2; echo "$unformatted" >&2; exit 1
fi

step "go vet"
go vet ./...

step "build"
go build -o bin/fargo ./cmd/fargo
bin/fargo version

step "tests (race detector; end-to-end against real Prosody, ejabberd, Kamailio)"
go test -race -count=1 -timeout 20m ./...

step "benchmarks (smoke: each runs once, with allocations; no timing is asserted)"
go test -run='^$' -bench=. -benchtime=1x -benchmem ./... >/tmp/fargo-bench-smoke.txt 2>&1 || {
  cat /tmp/fargo-bench-smoke.txt >&2; exit 1
}
grep -E '^(Benchmark|ok|FAIL)' /tmp/fargo-bench-smoke.txt

step "fuzz targets (-fuzztime=${FUZZTIME} each)"
git grep -l '^func Fuzz' -- '*_test.go' | while read -r file; do
  pkg="./$(dirname "$file")"
  sed -nE 's/^func (Fuzz[A-Za-z0-9_]+)\(.*/\1/p' "$file" | while read -r fuzz; do
    echo "-- $pkg $fuzz"
    go test -run='^$' -fuzz="^${fuzz}\$" -fuzztime="$FUZZTIME" "$pkg" </dev/null
  done
done

step "all checks passed"
