#!/usr/bin/env bash
# run.sh - runs `deno test -A ARGS` inside a throw-away qemu VM with a real
# Linux kernel and vcan0/vcan1 up (see run-in-can-vm.sh beside it), with the
# repository as the working directory, and exits with deno's status.
#
#   tests/vm/run.sh                                  # every test in tests/vm/
#   tests/vm/run.sh tests/vm/socketcan_test.ts --filter cangen
#   DENO=/path/to/deno tests/vm/run.sh tests/vm/
#   VCANVM_HW=kvaser tests/vm/run.sh tests/vm/kvaser_test.ts   # can0/can1: emulated SJA1000
#                                                   # controllers (run-in-can-vm.sh)
#
# The host type-checks and caches first (deno test --no-run): the guest has no
# network, and type-checking under TCG emulation is slow; it reuses the host's
# Deno cache through the read-only root share.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO=$(cd "$HERE/../.." && pwd -P)
cd "$REPO"
[ $# -gt 0 ] || set -- tests/vm/
DENO=${DENO:-$(command -v deno)}
"$DENO" test -A --no-run "$@" >&2
export RUST_BACKTRACE=${RUST_BACKTRACE:-0}
# run-in-can-vm.sh: vcan0/vcan1 always; emulated controllers too with VCANVM_HW=kvaser|ctucan.
VCANVM_WORKDIR=$REPO exec bash "$HERE/run-in-can-vm.sh" "$DENO" test -A "$@"
