#!/usr/bin/env bash
# Installs helios-hfs 0.2.7 (a FHIR R4 server, used by tests/sync.rs) once into a cache
# directory, and prints the path of its binary. The build is long (several minutes), so it is
# done only when the binary is not there yet.
#
#   KITNOTES_TOOLS_DIR   where tools are cached [default: ~/.cache/kitnotes/tools]
#
# Usage: HFS=$(scripts/install-hfs.sh)
set -euo pipefail

version=0.2.7
tools="${KITNOTES_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kitnotes/tools}"
root="$tools/helios-hfs-$version"
bin="$root/bin/hfs"

if [ ! -x "$bin" ]; then
    mkdir -p "$tools"
    echo "install-hfs: building helios-hfs $version into $root (once; takes a while)" >&2
    # Only R4 and SQLite: the tests need nothing else. The lock file the crate was released
    # with (--locked), so the build is the one that was tried. Unoptimised (--debug): the tests
    # send it a few thousand resources, and its optimised build took 85 minutes on a loaded
    # 2-core machine (2026-12-07), most of it optimising code the tests never run.
    cargo install helios-hfs --version "$version" --no-default-features --features R4,sqlite \
        --root "$root" --locked --debug >&2
fi
if [ ! -x "$bin" ]; then
    echo "install-hfs: $bin is missing after the install" >&2
    exit 1
fi
echo "$bin"
