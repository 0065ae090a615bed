#!/usr/bin/env bash
# Builds everything and runs every suite, even after one fails, then prints
# each suite's own summary line. Exits non-zero if any suite failed.
# Logs: _build/test-logs/<suite>.log
set -uo pipefail
cd "$(dirname "$0")/.."

logs=_build/test-logs
mkdir -p "$logs"
names=()
statuses=()
summaries=()

# run NAME SUMMARY_REGEX COMMAND...: runs the suite, keeps its last line
# matching SUMMARY_REGEX (the suite's own summary) for the final report.
run() {
  local name=$1 pattern=$2
  shift 2
  echo
  echo "=== $name: $*"
  "$@" 2>&1 | tee "$logs/$name.log"
  local status=${PIPESTATUS[0]}
  local summary
  summary=$(sed 's/\x1b\[[0-9;]*m//g' "$logs/$name.log" | grep -E "$pattern" | tail -n 1)
  names+=("$name")
  statuses+=("$status")
  summaries+=("${summary:-no summary line (see $logs/$name.log)}")
}

# The build first: without it no suite can run.
echo "=== build: rebar3 compile"
if ! rebar3 compile; then
  echo "build failed" >&2
  exit 1
fi

run check        '^[0-9]+%: Checks:'          make --no-print-directory -C c_src check
run check-asan   '^[0-9]+%: Checks:'          make --no-print-directory -C c_src check-asan
run eunit        '[0-9]+ tests?, [0-9]+ failures?|All [0-9]+ tests passed|Failed: [0-9]+' rebar3 eunit
run static       'static analysis: clean|Warnings occurred|Error' \
    bash -c 'rebar3 xref && rebar3 dialyzer && echo "static analysis: clean (xref, dialyzer)"'
run exunit       '[0-9]+ (tests?|doctests?|propert).*[0-9]+ failures?' env MIX_ENV=test mix test
run consumers    'consumers: .* pass'           scripts/test-consumers.sh

echo
echo "=== summary"
failed=0
for i in "${!names[@]}"; do
  if [ "${statuses[$i]}" -eq 0 ]; then verdict=PASS; else verdict=FAIL; failed=1; fi
  printf '%-11s %s  %s\n' "${names[$i]}" "$verdict" "${summaries[$i]}"
done
exit $failed
