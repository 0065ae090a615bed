#!/usr/bin/env bash
# Builds two throwaway projects that depend on this checkout the way users
# do, offline: an Elixir one with {:supertester, path: ...} and an Erlang one
# with rebar3 (_checkouts). Each runs one test through the public API.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
work=$root/_build/consumers
rm -rf "$work"
mkdir -p "$work/ex_app/test" "$work/ex_app/lib" "$work/erl_app/src" "$work/erl_app/test" \
         "$work/erl_app/_checkouts"

# --- Elixir: mix path dependency -------------------------------------------
cat > "$work/ex_app/mix.exs" <<EOF
defmodule ExApp.MixProject do
  use Mix.Project
  def project, do: [app: :ex_app, version: "0.1.0", deps: [{:supertester, path: "$root", only: :test}]]
end
EOF
echo 'ExUnit.start()' > "$work/ex_app/test/test_helper.exs"
cat > "$work/ex_app/test/ex_app_test.exs" <<'EOF'
defmodule ExAppTest do
  use ExUnit.Case, async: true
  import Supertester.PerformanceHelpers

  test "the published API is reachable from a dependent project" do
    assert %{result: 6, time_us: _, memory_bytes: _, reductions: _} =
             measure_operation(fn -> 1 + 2 + 3 end)

    assert_raise ExUnit.AssertionError, fn ->
      assert_performance(fn -> Enum.to_list(1..1000) end, max_reductions: 0)
    end
  end
end
EOF
(cd "$work/ex_app" && MIX_ENV=test mix test)

# --- Erlang: rebar3 with the checkout in _checkouts ------------------------
ln -s "$root" "$work/erl_app/_checkouts/supertester"
cat > "$work/erl_app/rebar.config" <<'EOF'
{deps, [supertester]}.
EOF
cat > "$work/erl_app/src/erl_app.app.src" <<'EOF'
{application, erl_app, [{vsn, "0.1.0"}, {applications, [kernel, stdlib, supertester]}]}.
EOF
cat > "$work/erl_app/test/erl_app_tests.erl" <<'EOF'
-module(erl_app_tests).
-include_lib("eunit/include/eunit.hrl").

published_api_test() ->
    ?assertMatch(#{result := 6}, supertester_performance:measure_operation(fun() -> 1 + 2 + 3 end)),
    ?assertError({assertion_failed, _},
                 supertester_performance:assert_performance(
                   fun() -> lists:seq(1, 1000) end, [{max_reductions, 0}])).
EOF
(cd "$work/erl_app" && rebar3 eunit)
echo "consumers: mix path dependency and rebar3 checkout both pass"
