#!/usr/bin/env bash
# The demo: builds Supertester and the shop example application, then runs
# the performance helpers against the shop's real servers.
set -euo pipefail
cd "$(dirname "$0")/.."

rebar3 compile
out=_build/examples/shop/ebin
mkdir -p "$out"
erlc -o "$out" examples/shop/src/*.erl examples/shop/demo/*.erl
cp examples/shop/src/shop.app.src "$out/shop.app"
erl -noshell -pa _build/default/lib/supertester/ebin -pa "$out" \
    -eval 'shop_demo:main(), halt().'
