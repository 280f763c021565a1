#!/usr/bin/env bash
# Installs what the several-hosts tests need besides the engine: ip and
# nsenter for a second engine in its own network namespace, openssl for its
# certificates, and an OpenSSH server and client for ssh:// engines.
set -euo pipefail
missing=()
command -v ip >/dev/null || missing+=(iproute2)
command -v nsenter >/dev/null || missing+=(util-linux)
command -v openssl >/dev/null || missing+=(openssl)
command -v ssh >/dev/null || missing+=(openssh-client)
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "error: the tests need ${missing[*]}; install them (as root) and run again" >&2
    exit 1
  fi
  echo "installing ${missing[*]} (the README lists what the tests install)" >&2
  # Debian starts a daemon when it installs one (sshd on port 22): the tests
  # run their own sshd on a loopback port, so none is started for the machine.
  norc=/usr/sbin/policy-rc.d
  if [ ! -e "$norc" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$norc" && chmod 755 "$norc"
    trap 'rm -f "$norc"' EXIT
  fi
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
