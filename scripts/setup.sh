#!/usr/bin/env bash
# Installs the Debian packages that building and testing Supertester need,
# only those missing, as root or through sudo. Nothing comes from hex.pm.
set -euo pipefail

packages=(
  build-essential pkg-config        # C toolchain (gcc ships ASan/UBSan)
  check                             # C unit tests
  libuv1-dev                        # event loop of the C-node
  erlang-nox erlang-dev erlang-src  # OTP, erl_nif.h and ei, sources
  erlang-eunit erlang-common-test erlang-dialyzer erlang-proper
  rebar3 elixir
)

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "setup: not a Debian system; install the equivalents of: ${packages[*]}" >&2
  for cmd in cc make erl erlc rebar3 mix pkg-config; do
    command -v "$cmd" >/dev/null 2>&1 || { echo "setup: missing command $cmd" >&2; exit 1; }
  done
  exit 0
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all required packages are installed"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "setup: missing packages (${missing[*]}) and neither root nor sudo to install them" >&2
  exit 1
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
