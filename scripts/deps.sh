#!/bin/sh
# Make sure the system packages cgrad builds and tests with are installed.
# Does nothing when everything is present; otherwise installs the missing
# Debian packages with apt-get (through sudo when not root).
#
#   scripts/deps.sh            build and test packages
#   scripts/deps.sh demo       also the Fashion-MNIST data set for `make demo`
set -eu

pkgs="gcc make pkg-config libopenblas-dev libstb-dev libcmocka-dev zlib1g-dev libjpeg62-turbo-dev"
# graphviz for the graph tests; man (and groff) for the man page's; bash for the
# completion's; clang: tests/test_export.c compiles the generated C with gcc and clang
pkgs="$pkgs graphviz man-db bash clang"
if [ "${1:-}" = "demo" ]; then
    pkgs="$pkgs dataset-fashion-mnist"
fi
if [ "${1:-}" = "check" ]; then
    # sanitizers and fuzzing (clang), valgrind, and PyTorch for the parity
    # check of scripts/torch_parity.py
    pkgs="$pkgs clang libclang-rt-dev valgrind python3 python3-torch"
fi

missing=""
for p in $pkgs; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "cgrad: missing packages:$missing (no apt-get here: install them by hand)" >&2
    exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi
echo "cgrad: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
