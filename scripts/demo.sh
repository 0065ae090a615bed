#!/usr/bin/env bash
# The demo. Part 1, the C-node: starts the factory example application on a
# local node, attaches with priv/bin/supertester, prints the tree, checks a
# restart, runs a seeded chaos run with recovery verified, replays it from
# the seed, and measures calls. Part 2, inside the VM: the performance
# helpers on the shop example application.
set -euo pipefail
cd "$(dirname "$0")/.."

rebar3 compile
make --no-print-directory -C c_src cnode examples >/dev/null

st=priv/bin/supertester
logs=_build/demo
mkdir -p "$logs"

# A fresh cookie for the demo's node, handed to the tool through the
# environment (never on its command line).
SUPERTESTER_COOKIE=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
export SUPERTESTER_COOKIE

# The node lives until its stdin closes: a coprocess whose stdin is ours,
# closed on exit whatever happens.
sname="factory_demo_$$"
coproc NODE { exec erl -sname "$sname" -setcookie "$SUPERTESTER_COOKIE" -noshell \
  -pa _build/examples/factory/ebin -run factory_node main 2>"$logs/factory_node.log"; }
node_pid=$NODE_PID
stop_node() {
  exec {NODE[1]}>&- 2>/dev/null || true
  wait "$node_pid" 2>/dev/null || true
}
trap stop_node EXIT

read -r -t 30 ready node <&"${NODE[0]}" || { echo "demo: the factory node did not start" >&2; exit 1; }
[ "$ready" = ready ] || { echo "demo: unexpected line from the node: $ready $node" >&2; exit 1; }

step() { printf '\n== %s\n$ %s\n' "$1" "${*:2}"; }

echo "Supertester C-node demo on $node (the factory example application)"

step "The supervision tree, found from the application" \
  "$st tree $node --app factory"
$st tree "$node" --app factory

step "Kill welder under the rest_for_one line: welder and painter restart, cutter does not" \
  "$st restart-check $node --supervisor factory_line_sup --child welder"
$st restart-check "$node" --supervisor factory_line_sup --child welder

step "A seeded chaos run on the top supervisor, recovery verified" \
  "$st chaos $node --supervisor factory_sup --seed 42 --kill-rate 0.5 --duration 1500 --interval 100"
$st chaos "$node" --supervisor factory_sup --seed 42 --kill-rate 0.5 --duration 1500 \
  --interval 100 | tee "$logs/chaos_1.txt"

step "The same seed again: the same victims at the same times" \
  "$st chaos $node --supervisor factory_sup --seed 42 --kill-rate 0.5 --duration 1500 --interval 100"
$st chaos "$node" --supervisor factory_sup --seed 42 --kill-rate 0.5 --duration 1500 \
  --interval 100 | tee "$logs/chaos_2.txt"
plan1=$(grep '^plan:' "$logs/chaos_1.txt")
plan2=$(grep '^plan:' "$logs/chaos_2.txt")
if [ "$plan1" = "$plan2" ]; then
  echo "replayed: both runs followed the same plan"
else
  echo "demo: the replay followed another plan" >&2
  exit 1
fi

step "Calls from the C-node: 4 callers for one second" \
  "$st bench $node --server factory_counter --request ping --callers 4 --duration 1000"
$st bench "$node" --server factory_counter --request ping --callers 4 --duration 1000

step "The counter's memory, reductions and mailbox" \
  "$st watch $node --process factory_counter --interval 200 --samples 3"
$st watch "$node" --process factory_counter --interval 200 --samples 3

step "The counter's messages while a bench calls it (JSON, first 6 events)" \
  "$st trace $node --process factory_counter --max-events 6 --duration 5000 --json"
$st trace "$node" --process factory_counter --max-events 6 --duration 5000 --json &
trace_pid=$!
$st bench "$node" --server factory_counter --request '{add, 1}' --callers 1 --duration 500 \
  >/dev/null
wait "$trace_pid"

stop_node
trap - EXIT

# Part 2: the in-VM helpers on the shop application.
out=_build/examples/shop/ebin
mkdir -p "$out"
erlc -o "$out" examples/shop/src/*.erl examples/shop/demo/*.erl
cp examples/shop/src/shop.app.src "$out/shop.app"
echo
erl -noshell -pa _build/default/lib/supertester/ebin -pa "$out" \
    -eval 'shop_demo:main(), halt().'
