#!/usr/bin/env bash
# Builds the local images the example fleet and the tests use, from Debian's
# busybox-static (no image registry is needed): a FROM scratch image with sh,
# rm, sleep, httpd, telnetd, nc. Images already present are left alone.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
"$here/ensure-engine.sh"

image="deckhand/busybox:1.35"
alt="deckhand/busybox:alt"
no_rm="deckhand/no-rm:1"

if ! docker image inspect "$image" >/dev/null 2>&1; then
  if ! dpkg -s busybox-static >/dev/null 2>&1; then
    echo "installing busybox-static" >&2
    apt-get update -qq && apt-get install -y -qq busybox-static >/dev/null
  fi
  busybox_bin=/bin/busybox
  ctx="$(mktemp -d)"
  trap 'rm -rf "$ctx"' EXIT
  cp "$busybox_bin" "$ctx/busybox"
  cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN ["/bin/mkdir", "-p", "/etc", "/root", "/home", "/tmp", "/var/www", "/srv"]
RUN ["/bin/sh", "-c", "echo 'root:x:0:0:root:/root:/bin/sh' > /etc/passwd && echo 'root:x:0:' > /etc/group && chmod 1777 /tmp"]
ENV PATH=/bin
CMD ["/bin/sh"]
DOCKERFILE
  echo "building $image from $busybox_bin" >&2
  DOCKER_BUILDKIT=0 docker build -q -t "$image" "$ctx" >/dev/null 2>&1 || DOCKER_BUILDKIT=0 docker build -t "$image" "$ctx"
fi
if ! docker image inspect "$alt" >/dev/null 2>&1; then
  docker tag "$image" "$alt"
fi
# For the test of deleting files in a container without `rm`.
if ! docker image inspect "$no_rm" >/dev/null 2>&1; then
  ctx_rm="$(mktemp -d)"
  printf 'FROM %s\nRUN ["/bin/busybox", "rm", "/bin/rm"]\n' "$image" >"$ctx_rm/Dockerfile"
  DOCKER_BUILDKIT=0 docker build -q -t "$no_rm" "$ctx_rm" >/dev/null 2>&1 || DOCKER_BUILDKIT=0 docker build -t "$no_rm" "$ctx_rm"
  rm -rf "$ctx_rm"
fi
echo "images ready: $image $alt $no_rm" >&2
