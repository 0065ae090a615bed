%% @doc Performance testing and regression detection: the Erlang side of
%% `Supertester.PerformanceHelpers', usable from EUnit and Common Test.
%%
%% ```
%% %% An SLA on one call (the shapes match Supertester 0.5.1):
%% ok = supertester_performance:assert_performance(
%%        fun() -> my_server:get_user(Server, 1) end,
%%        [{max_time_ms, 50}, {max_memory_bytes, 500000}]),
%%
%% %% Which of two implementations is faster, and is the difference real?
%% #{list := L, map := M} = supertester_performance:compare_performance(
%%        #{list => fun() -> lists:keyfind(k500, 1, List) end,
%%          map => fun() -> maps:find(k500, Map) end}),
%% #{verdict := slower, significant := true} = maps:get(map, maps:get(comparisons, L)),
%%
%% %% Does the server keep memory per request?
%% ok = supertester_performance:assert_no_memory_leak(
%%        10000, fun() -> my_server:handle(Server, msg) end).
%% '''
%%
%% Failed assertions raise `{assertion_failed, #{message := Binary, ...}}'
%% (see {@link supertester_lib}); bad arguments raise `{badarg, ...}' before
%% anything is run.
%%
%% What is measured, as in 0.5.1: `time_us' is the wall time of the call in
%% microseconds; `reductions' are those of the calling process;
%% `memory_bytes' is the growth of the whole VM's memory
%% (`erlang:memory(total)') across the call after a garbage collection of
%% the caller, never negative. Work done by other processes (a gen_server
%% the operation calls) shows in time and memory but not in reductions.
-module(supertester_performance).

-export([measure_operation/1, assert_performance/2, assert_expectations/2,
         assert_no_memory_leak/2, assert_no_memory_leak/3,
         measure_mailbox_growth/2, measure_mailbox_growth/3,
         assert_mailbox_stable/2, compare_performance/1,
         compare_performance/2]).

-export_type([measurement/0, expectations/0]).

-type measurement() :: #{time_us := non_neg_integer(),
                         memory_bytes := non_neg_integer(),
                         reductions := non_neg_integer(),
                         result := term()}.
-type expectations() :: [{max_time_ms | max_memory_bytes | max_reductions, number()}]
                      | #{max_time_ms | max_memory_bytes | max_reductions => number()}.

-define(EXPECTATIONS, [max_time_ms, max_memory_bytes, max_reductions]).

%% @doc Runs `Operation' once and measures it: `time_us', `memory_bytes',
%% `reductions' and the operation's `result'.
-spec measure_operation(fun(() -> term())) -> measurement().
measure_operation(Operation) ->
    _ = supertester_lib:check_fun(operation, Operation, 0),
    erlang:garbage_collect(),
    Memory0 = erlang:memory(total),
    {reductions, Reductions0} = process_info(self(), reductions),
    T0 = erlang:monotonic_time(nanosecond),
    Result = Operation(),
    T1 = erlang:monotonic_time(nanosecond),
    {reductions, Reductions1} = process_info(self(), reductions),
    Memory1 = erlang:memory(total),
    #{time_us => (T1 - T0) div 1000,
      memory_bytes => max(0, Memory1 - Memory0),
      reductions => Reductions1 - Reductions0,
      result => Result}.

%% @doc Measures `Operation' once and checks the bounds `max_time_ms',
%% `max_memory_bytes' and `max_reductions'. The expectations are checked
%% before the operation runs, so a misspelt bound fails without side effects.
-spec assert_performance(fun(() -> term()), expectations()) -> ok.
assert_performance(Operation, Expectations) ->
    _ = supertester_lib:check_fun(operation, Operation, 0),
    Bounds = expectations(Expectations),
    check_bounds(assert_performance, measure_operation(Operation), Bounds).

%% @doc Checks a measurement map (usually from {@link measure_operation/1})
%% against the same bounds as {@link assert_performance/2}. Every violated
%% bound is reported in one failure.
-spec assert_expectations(map(), expectations()) -> ok.
assert_expectations(Measurement, Expectations) when is_map(Measurement) ->
    check_bounds(assert_expectations, Measurement, expectations(Expectations));
assert_expectations(Other, _Expectations) ->
    supertester_lib:bad_arg(measurements, Other, "a measurement map such as measure_operation/1 returns").

expectations(Expectations) ->
    Bounds = supertester_lib:options(expectations, Expectations, ?EXPECTATIONS),
    maps:foreach(fun(Key, Limit) -> supertester_lib:check_non_neg_number(Key, Limit) end,
                 Bounds),
    Bounds.

%% Each bound, the measurement key it reads, and how to show both.
bound_spec(max_time_ms) -> {time_us, fun(Us) -> Us / 1000 end, "time", " ms"};
bound_spec(max_memory_bytes) -> {memory_bytes, fun(B) -> B end, "memory", " bytes"};
bound_spec(max_reductions) -> {reductions, fun(R) -> R end, "reductions", ""}.

check_bounds(Assertion, Measurement, Bounds) ->
    Violations =
        [Violation || Key <- ?EXPECTATIONS, maps:is_key(Key, Bounds),
                      Violation <- violation(Key, maps:get(Key, Bounds), Measurement)],
    case Violations of
        [] ->
            ok;
        _ ->
            Lines = [io_lib:format("  ~s ~s~s exceeds ~s = ~s~n",
                                   [Label, supertester_lib:format_number(Actual), Unit,
                                    Key, supertester_lib:format_number(Limit)])
                     || {Key, Label, Actual, Limit, Unit} <- Violations],
            Message = ["Performance expectations not met:\n", Lines,
                       "Measured: ", format_measurement(Measurement)],
            Details = #{measurement => maps:without([result], Measurement),
                        expectations => Bounds,
                        violations => [Key || {Key, _, _, _, _} <- Violations]},
            supertester_lib:assertion_failed(Assertion, Message, Details)
    end.

violation(Key, Limit, Measurement) ->
    {Field, Convert, Label, Unit} = bound_spec(Key),
    case Measurement of
        #{Field := Raw} when is_number(Raw) ->
            Actual = Convert(Raw),
            [{Key, Label, Actual, Limit, Unit} || Actual > Limit];
        _ ->
            supertester_lib:bad_arg(measurements, Measurement,
                                    io_lib:format("a map with a numeric ~s (needed by ~s)",
                                                  [Field, Key]))
    end.

format_measurement(M) ->
    Shown = [{K, V} || K <- [time_us, memory_bytes, reductions], {ok, V} <- [maps:find(K, M)]],
    lists:join(", ", [io_lib:format("~s=~0tp", [K, V]) || {K, V} <- Shown]).

%% @equiv assert_no_memory_leak(Iterations, Operation, [])
-spec assert_no_memory_leak(pos_integer(), fun(() -> term())) -> ok.
assert_no_memory_leak(Iterations, Operation) ->
    assert_no_memory_leak(Iterations, Operation, []).

%% @doc Runs `Operation' `Iterations' times and fails when memory grows with
%% the iterations. See {@link supertester_leak} for how growth is judged
%% (regression slope over many samples) and the options.
-spec assert_no_memory_leak(pos_integer(), fun(() -> term()), supertester_lib:options()) -> ok.
assert_no_memory_leak(Iterations, Operation, Opts) ->
    supertester_leak:assert_no_leak(Iterations, Operation, Opts).

%% @equiv measure_mailbox_growth(Server, Operation, [])
-spec measure_mailbox_growth(supertester_mailbox:target(), fun(() -> term())) ->
          supertester_mailbox:report().
measure_mailbox_growth(Server, Operation) ->
    measure_mailbox_growth(Server, Operation, []).

%% @doc Samples the mailbox of `Server' while `Operation' runs. See
%% {@link supertester_mailbox}.
-spec measure_mailbox_growth(supertester_mailbox:target(), fun(() -> term()),
                             supertester_lib:options()) -> supertester_mailbox:report().
measure_mailbox_growth(Server, Operation, Opts) ->
    supertester_mailbox:measure(Server, Operation, Opts).

%% @doc Fails when the mailbox of `Server' exceeds `max_size' (default 100)
%% while the `during' function runs. Other options go to
%% {@link measure_mailbox_growth/3}.
-spec assert_mailbox_stable(supertester_mailbox:target(), supertester_lib:options()) -> ok.
assert_mailbox_stable(Server, Opts) ->
    supertester_mailbox:assert_stable(Server, Opts).

%% @equiv compare_performance(Functions, [])
-spec compare_performance(#{term() => fun(() -> term())}) -> #{term() => map()}.
compare_performance(Functions) ->
    compare_performance(Functions, []).

%% @doc Times each function over many interleaved samples and compares them
%% statistically. See {@link supertester_compare}.
-spec compare_performance(#{term() => fun(() -> term())}, supertester_lib:options()) ->
          #{term() => map()}.
compare_performance(Functions, Opts) ->
    supertester_compare:compare(Functions, Opts).
