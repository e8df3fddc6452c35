#!/usr/bin/env bash
# Builds Berth's container image (`berth serve`, `berth router`) from the Debian package without
# pulling any base image: the root filesystem is assembled from the .deb, nginx with its Lua
# module, and the shared libraries they link, then imported through the Docker Engine API
# (Podman's or Docker's) as localhost/berth:<version>. Runs as uid 10001, writes only to
# /var/lib/berth, /run/berth and /tmp (mount those; the root filesystem can be read-only).
#   scripts/image.sh [DEB]          DEB: default scripts/package.sh's output
#   DOCKER_HOST=unix:///path.sock   the engine (default: Podman's or Docker's usual socket)
#   BERTH_IMAGE=repo:tag            the name (default localhost/berth:<package version>)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
step() { printf '==> %s\n' "$*" >&2; }

deb="${1:-}"
if [[ -z "$deb" ]]; then
  step "Building the Debian package"
  deb="$("$here/scripts/package.sh")"
fi
[[ -f "$deb" ]] || { echo "image.sh: no such package: $deb" >&2; exit 2; }
version="$(dpkg-deb -f "$deb" Version)"
image="${BERTH_IMAGE:-localhost/berth:$version}"

sock="${DOCKER_HOST:-}"
if [[ -z "$sock" ]]; then
  for s in /run/podman/podman.sock /var/run/docker.sock; do
    [[ -S "$s" ]] && { sock="unix://$s"; break; }
  done
fi
[[ "$sock" == unix://* ]] || { echo "image.sh: set DOCKER_HOST=unix:///path/to/engine.sock" >&2; exit 2; }
sock="${sock#unix://}"

root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
step "Assembling the root filesystem from $deb"
dpkg-deb -x "$deb" "$root"
chmod 0755 "$root"  # mktemp made it 0700: the image's / must be traversable by uid 10001
rm -rf "$root/usr/share/doc" "$root/usr/share/man" "$root/lib/systemd"

# nginx, its Lua module and what that module loads (lua-resty-core), file by file from the
# installed Debian packages.
for pkg in nginx libnginx-mod-http-ndk libnginx-mod-http-lua lua-resty-core lua-resty-lrucache; do
  dpkg -L "$pkg" | while read -r f; do
    case "$f" in /usr/share/doc/*|/usr/share/man/*|/etc/init.d/*|/etc/logrotate.d/*|/lib/systemd/*) continue ;; esac
    if [[ -f "$f" && ! -d "$f" ]]; then
      mkdir -p "$root$(dirname "$f")"
      cp -L "$f" "$root$f"
    fi
  done
done

# Every shared library an executable or module needs, and the dynamic loader.
copy_libs() {
  { ldd "$1" 2>/dev/null || true; } | awk '/=> \//{print $3} /^[ \t]*\//{print $1}' | while read -r lib; do
    [[ -e "$root$lib" ]] && continue
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
}
while read -r elf; do copy_libs "$elf"; done < <(
  find "$root/usr/bin" "$root/usr/sbin" "$root/usr/lib/nginx/modules" -type f)
mkdir -p "$root/etc/ssl/certs"
cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"

cat > "$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/usr/sbin/nologin
berth:x:10001:10001:Berth:/var/lib/berth:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
PASSWD
cat > "$root/etc/group" <<'GROUP'
root:x:0:
berth:x:10001:
nogroup:x:65534:
GROUP
mkdir -p "$root/tmp" "$root/var/lib/berth" "$root/run/berth" "$root/var/log/nginx"
chmod 1777 "$root/tmp"
chown 10001:10001 "$root/var/lib/berth" "$root/run/berth" "$root/var/log/nginx"

step "Importing $image through $sock"
uri() { jq -rn --arg v "$1" '$v|@uri'; }
# The tag inside repo: Podman ignores a separate tag parameter on import.
q="fromSrc=-&repo=$(uri "$image")"
for c in 'USER 10001:10001' 'WORKDIR /var/lib/berth' 'ENTRYPOINT ["/usr/bin/berth"]' \
         'CMD ["serve", "--config", "/etc/berth/berth.toml"]' 'EXPOSE 8080' 'EXPOSE 8880' \
         'ENV BERTH_STATE_DIR=/var/lib/berth' 'ENV BERTH_SOCKET=/run/berth/berth.sock' \
         'LABEL org.opencontainers.image.title=berth' \
         "LABEL org.opencontainers.image.version=$version"; do
  q+="&changes=$(uri "$c")"
done
tarball="$(mktemp)"
trap 'rm -rf "$root" "$tarball"' EXIT
tar -C "$root" --numeric-owner -cf "$tarball" .
answer="$(curl -sS --unix-socket "$sock" -X POST -H 'Content-Type: application/x-tar' \
  --data-binary @"$tarball" -w '\n%{http_code}' "http://d/v1.41/images/create?$q")"
code="${answer##*$'\n'}"
if [[ "$code" != 200 ]] || grep -q '"error"' <<<"$answer"; then
  echo "image.sh: the engine refused the import (HTTP $code): ${answer%$'\n'*}" >&2
  exit 1
fi
echo "$image"
