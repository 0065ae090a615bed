%% @doc Section: what Supertester's test isolation costs a real ExUnit
%% suite, against ExUnit's own start_supervised!. The measuring is done by
%% bench/isolation_bench.exs (ExUnit suites are Elixir), run here through
%% `mix run'; its RESULT lines become this section's ratios and checks.
-module(bench_isolation).

-export([run/0]).

run() ->
    io:format("~n== Isolation: a server per test, Supertester against start_supervised! ==~n~n"),
    Root = root(),
    Cmd = "cd " ++ Root ++ " && MIX_ENV=test mix run bench/isolation_bench.exs 2>&1",
    Output = os:cmd(Cmd),
    Lines = string:split(Output, "\n", all),
    Results = maps:from_list([{Name, list_to_float_or_int(Value)}
                              || "RESULT " ++ Rest <- Lines,
                                 [Name, Value] <- [string:split(Rest, " ")]]),
    [io:format("~s~n", [L]) || L <- Lines, L =/= "", not lists:prefix("RESULT", L),
                               not lists:prefix("Generated", L), not lists:prefix("Compiling", L)],
    case maps:size(Results) of
        0 ->
            io:format("~s~n", [Output]),
            exit(isolation_bench_failed);
        _ ->
            report(Results)
    end.

report(R) ->
    Get = fun(K) -> maps:get(K, R) end,
    io:format("~n  per test: full_isolation / start_supervised! = ~.2fx, / start_supervised! with a Registry = ~.2fx~n"
              "  per test: basic / start_supervised! = ~.2fx~n"
              "  200-test async suite: full_isolation / start_supervised! = ~.2fx, / with a Registry = ~.2fx;"
              " basic / start_supervised! = ~.2fx~n"
              "  atoms made for names over ~b tests of one module: ~b~n",
              [Get("per_test_full_vs_plain"), Get("per_test_full_vs_plain_registry"),
               Get("per_test_basic_vs_plain"), Get("async_suite_full_vs_plain"),
               Get("async_suite_full_vs_plain_registry"), Get("async_suite_basic_vs_plain"),
               7 * 2 * (500 + 200), Get("names_created")]),
    [{target, "per test: basic within 1.5x of start_supervised!", Get("per_test_basic_vs_plain") =< 1.5},
     {target, "per test: full_isolation within 1.5x of start_supervised! with a Registry",
      Get("per_test_full_vs_plain_registry") =< 1.5},
     {check, "names reused: fewer than 50 atoms for 9,800 isolated servers", Get("names_created") < 50}].

list_to_float_or_int(S) ->
    try list_to_float(S) catch error:badarg -> list_to_integer(S) end.

%% The project's root: set by bench/Makefile, else found from this beam
%% (_build/bench/bench_isolation.beam).
root() ->
    case os:getenv("SUPERTESTER_ROOT") of
        false -> filename:dirname(filename:dirname(filename:dirname(code:which(?MODULE))));
        Dir -> Dir
    end.
