#!/usr/bin/env bash
# A second Docker engine for the several-hosts tests, in its own network
# namespace so that it cannot disturb the machine's engine (a second dockerd in
# the same namespace can delete the first one's docker0 bridge).
#
#   scripts/second-engine.sh start NAME DIR   # prints the engine's settings
#   scripts/second-engine.sh stop  NAME DIR   # stops it, deletes DIR and the namespace
#
# The engine listens on unix://DIR/docker.sock and, with TLS that verifies
# clients, on tcp://ADDR:2376 over a veth pair; DIR/certs holds a CA, the
# server's certificate (for ADDR) and a client certificate, all made here.
# Taking the host side of the veth down (ip link set LINK down) cuts the TCP
# endpoint off, as a host that goes away would be. It gets the test images from the machine's engine with docker save | load.
# Needs root, iproute2, nsenter and openssl.
set -euo pipefail
cmd=${1:?start or stop}
name=${2:?name}
dir=${3:?directory}
ns="dh-$name"
# One /30 per name, from a hash of it: tests running at once do not collide.
n=$(( $(printf '%s' "$name" | cksum | cut -d' ' -f1) % 16000 ))
host_ip="10.$((200 + n / 4000)).$(( (n % 4000) / 16 )).$(( (n % 16) * 4 + 1 ))"
ns_ip="${host_ip%.*}.$(( ${host_ip##*.} + 1 ))"
veth="dh${n}h"

stop() {
  if [ -f "$dir/docker.pid" ]; then
    pid=$(cat "$dir/docker.pid")
    # Containers first, so that the engine's shutdown does not wait on them.
    ids=$(docker -H "unix://$dir/docker.sock" ps -aq 2>/dev/null || true)
    # shellcheck disable=SC2086
    [ -z "$ids" ] || docker -H "unix://$dir/docker.sock" rm -f $ids >/dev/null 2>&1 || true
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  # Its containerd and shims, had the engine died without stopping them.
  pkill -9 -f -- "$dir/exec" 2>/dev/null || true
  # Whatever the engine left mounted under its directories.
  { grep -o " $dir/[^ ]*" /proc/self/mounts || true; } | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  ip link del "$veth" 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$dir"
}

certs() {
  local c="$dir/certs"
  mkdir -p "$c"
  (
    cd "$c"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca-key.pem -out ca.pem -days 2 -subj "/CN=deckhand test CA $name" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout server-key.pem -out server.csr -subj "/CN=$ns_ip" 2>/dev/null
    printf 'subjectAltName=IP:%s\nextendedKeyUsage=serverAuth\n' "$ns_ip" > server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out server.pem -days 2 -extfile server.ext 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout key.pem -out client.csr -subj "/CN=deckhand" 2>/dev/null
    printf 'extendedKeyUsage=clientAuth\n' > client.ext
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out cert.pem -days 2 -extfile client.ext 2>/dev/null
  )
}

start() {
  stop
  mkdir -p "$dir"
  ip netns add "$ns"
  ip link add "$veth" type veth peer name eth0 netns "$ns"
  ip addr add "$host_ip/30" dev "$veth"
  ip link set "$veth" up
  nsenter --net="/run/netns/$ns" ip link set lo up
  nsenter --net="/run/netns/$ns" ip addr add "$ns_ip/30" dev eth0
  nsenter --net="/run/netns/$ns" ip link set eth0 up
  certs
  # Its own (empty) settings: the machine's daemon.json names the first engine's data root.
  echo '{}' > "$dir/daemon.json"
  nsenter --net="/run/netns/$ns" dockerd \
    --host "unix://$dir/docker.sock" \
    --host "tcp://$ns_ip:2376" --tlsverify \
    --tlscacert "$dir/certs/ca.pem" --tlscert "$dir/certs/server.pem" --tlskey "$dir/certs/server-key.pem" \
    --config-file "$dir/daemon.json" --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/docker.pid" \
    >"$dir/dockerd.log" 2>&1 &
  for _ in $(seq 1 300); do
    docker -H "unix://$dir/docker.sock" info >/dev/null 2>&1 && break
    kill -0 "$!" 2>/dev/null || break
    sleep 0.1
  done
  if ! docker -H "unix://$dir/docker.sock" info >/dev/null 2>&1; then
    echo "second engine did not start; its log:" >&2
    tail -20 "$dir/dockerd.log" >&2
    exit 1
  fi
  images=$(docker images --format '{{.Repository}}:{{.Tag}}' | grep '^deckhand/' || true)
  if [ -n "$images" ]; then
    # shellcheck disable=SC2086
    docker save $images | docker -H "unix://$dir/docker.sock" load >/dev/null
  fi
  echo "unix=unix://$dir/docker.sock"
  echo "tcp=tcp://$ns_ip:2376"
  echo "certs=$dir/certs"
  echo "link=$veth"
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop NAME DIR" >&2; exit 1 ;;
esac
