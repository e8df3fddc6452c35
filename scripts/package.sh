#!/usr/bin/env bash
# Builds the Debian package: a Release build, then `cpack -G DEB`. Prints the .deb's path.
#   scripts/package.sh [BUILD_DIR]      (default build-release)
# Install it with: apt install ./berth_<version>_<arch>.deb && systemctl start berth
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
dir="${1:-$here/build-release}"
"$here/scripts/deps.sh" build >&2
"$here/scripts/build.sh" "$dir" -DCMAKE_BUILD_TYPE=Release >&2
(cd "$dir" && cpack -G DEB >&2)
ls -t "$dir"/berth_*.deb | head -1
