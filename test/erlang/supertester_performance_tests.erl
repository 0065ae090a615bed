%% supertester_performance through its public API, on real processes.
-module(supertester_performance_tests).

-include_lib("eunit/include/eunit.hrl").

-import(st_test_lib, [failure_message/1, contains/2]).

-define(BADARG(Expr), ?assertError({badarg, #{argument := _, expected := _}}, Expr)).
-define(FAILS(Assertion, Expr),
        ?assertError({assertion_failed, #{assertion := Assertion, message := _}}, Expr)).

%% measure_operation / assert_performance / assert_expectations -------------

measure_operation_shape_test() ->
    M = supertester_performance:measure_operation(fun() -> lists:seq(1, 1000) end),
    ?assertMatch(#{time_us := T, memory_bytes := B, reductions := R}
                   when is_integer(T) andalso T >= 0 andalso is_integer(B) andalso B >= 0
                        andalso is_integer(R) andalso R > 0, M),
    ?assertEqual(lists:seq(1, 1000), maps:get(result, M)),
    ?assertEqual(lists:sort([time_us, memory_bytes, reductions, result]),
                 lists:sort(maps:keys(M))).

measure_sees_a_slow_operation_test() ->
    M = supertester_performance:measure_operation(fun() -> receive after 20 -> done end end),
    ?assert(maps:get(time_us, M) >= 20000),
    ?assertEqual(done, maps:get(result, M)).

measure_sees_memory_kept_alive_test() ->
    %% The result is live after the call: a 64 MB binary must show, whatever
    %% the earlier tests are still freeing.
    M = supertester_performance:measure_operation(fun() -> binary:copy(<<0>>, 64000000) end),
    ?assert(maps:get(memory_bytes, M) >= 60000000).

assert_performance_passes_within_bounds_test() ->
    ?assertEqual(ok, supertester_performance:assert_performance(
                       fun() -> ok end,
                       [{max_time_ms, 1000}, {max_memory_bytes, 100000000},
                        {max_reductions, 1000000}])),
    ?assertEqual(ok, supertester_performance:assert_performance(fun() -> ok end, #{})).

assert_performance_reports_every_violation_test() ->
    Message = failure_message(
                fun() ->
                        supertester_performance:assert_performance(
                          fun() -> receive after 5 -> binary:copy(<<1>>, 5000000) end end,
                          [{max_time_ms, 1}, {max_memory_bytes, 1000}, {max_reductions, 0}])
                end),
    ?assert(contains(Message, "exceeds max_time_ms = 1")),
    ?assert(contains(Message, "exceeds max_memory_bytes = 1000")),
    ?assert(contains(Message, "exceeds max_reductions = 0")),
    ?assert(contains(Message, "Measured: time_us=")).

assert_performance_checks_expectations_before_running_test() ->
    Self = self(),
    ?BADARG(supertester_performance:assert_performance(fun() -> Self ! ran end, [{max_time, 5}])),
    ?BADARG(supertester_performance:assert_performance(fun() -> Self ! ran end, [{max_time_ms, -1}])),
    ?BADARG(supertester_performance:assert_performance(not_a_fun, [])),
    receive ran -> error(operation_ran) after 0 -> ok end.

assert_expectations_test() ->
    M = #{time_us => 2500, memory_bytes => 10, reductions => 5, result => ok},
    ?assertEqual(ok, supertester_performance:assert_expectations(M, [{max_time_ms, 3}])),
    ?assert(contains(failure_message(fun() -> supertester_performance:assert_expectations(
                                                M, [{max_time_ms, 2}]) end),
                     "time 2.5 ms exceeds max_time_ms = 2")),
    ?BADARG(supertester_performance:assert_expectations(#{time_us => 1}, [{max_reductions, 1}])),
    ?BADARG(supertester_performance:assert_expectations(not_a_map, [])).

%% compare_performance -------------------------------------------------------

compare_performance_finds_the_real_difference_test() ->
    Small = lists:seq(1, 10),
    Big = lists:seq(1, 20000),
    R = supertester_performance:compare_performance(
          #{short => fun() -> lists:reverse(Small) end,
            long => fun() -> lists:reverse(Big) end},
          [{time_budget_ms, 100}]),
    #{short := S, long := L} = R,
    [?assertMatch(#{time_us := _, memory_bytes := _, reductions := _, result := _,
                    samples := _, percentiles := #{p50 := _, p90 := _, p99 := _, p999 := _},
                    ci_us := {_, _}, comparisons := _}, X) || X <- [S, L]],
    ?assertEqual(lists:reverse(Small), maps:get(result, S)),
    #{long := Vs} = maps:get(comparisons, S),
    #{short := Vl} = maps:get(comparisons, L),
    ?assertMatch(#{verdict := faster, significant := true}, Vs),
    ?assertMatch(#{verdict := slower, significant := true}, Vl),
    ?assertEqual(maps:get(p_value, Vs), maps:get(p_value, Vl)),
    ?assert(abs(maps:get(ratio, Vs) * maps:get(ratio, Vl) - 1) < 1.0e-9),
    ?assert(maps:get(time_us, S) < maps:get(time_us, L)).

compare_performance_statistics_are_consistent_test() ->
    R = supertester_performance:compare_performance(
          #{only => fun() -> lists:sum(lists:seq(1, 300)) end},
          [{min_samples, 12}, {max_samples, 12}]),
    #{only := M} = R,
    ?assertEqual(12, maps:get(samples, M)),
    ?assertEqual(#{}, maps:get(comparisons, M)),
    #{min_us := Min, max_us := Max, mean_us := Mean, ci_us := {Lo, Hi},
      percentiles := #{p50 := P50, p99 := P99}, time_us := T} = M,
    ?assertEqual(P50, T),
    %% Percentiles come from a 3-digit histogram: within 0.1% of the data.
    ?assert(Min * 0.999 =< P50 andalso P50 =< P99 andalso P99 =< Max * 1.001),
    ?assert(Lo =< Mean andalso Mean =< Hi).

compare_performance_bad_input_test() ->
    ?BADARG(supertester_performance:compare_performance(#{})),
    ?BADARG(supertester_performance:compare_performance(#{a => fun(_) -> ok end})),
    ?BADARG(supertester_performance:compare_performance(not_a_map)),
    ?BADARG(supertester_performance:compare_performance(#{a => fun() -> ok end}, [{min_samples, 1}])),
    ?BADARG(supertester_performance:compare_performance(#{a => fun() -> ok end}, [{alpha, 2}])),
    ?BADARG(supertester_performance:compare_performance(#{a => fun() -> ok end}, [{budget, 1}])).

%% assert_no_memory_leak -----------------------------------------------------

%% Bytes per iteration that grow the VM by Fraction over Iterations.
leak_size(Fraction, Iterations) ->
    round(erlang:memory(total) * Fraction / Iterations).

leak_detected_with_slope_and_samples_test() ->
    {ok, Server} = st_test_server:start_link(),
    Size = leak_size(0.5, 500),
    Message = failure_message(
                fun() ->
                        supertester_performance:assert_no_memory_leak(
                          500, fun() -> st_test_server:remember(Server, binary:copy(<<7>>, Size)) end)
                end),
    ?assert(contains(Message, "Memory leak detected")),
    ?assert(contains(Message, "bytes per iteration")),
    ?assert(contains(Message, "Samples (iteration: erlang:memory(total))")),
    ?assert(contains(Message, "  450: ")),
    gen_server:stop(Server).

leak_below_threshold_passes_test() ->
    {ok, Server} = st_test_server:start_link(),
    Size = leak_size(0.5, 500),
    ?assertEqual(ok, supertester_performance:assert_no_memory_leak(
                       500, fun() -> st_test_server:remember(Server, binary:copy(<<7>>, Size)) end,
                       [{threshold, 10.0}])),
    gen_server:stop(Server).

bounded_cache_is_not_a_leak_test() ->
    %% Memory grows while the cache fills (inside the warm-up), then stays.
    {ok, Server} = st_test_server:start_link(),
    Size = leak_size(0.3, 20),
    ?assertEqual(ok, supertester_performance:assert_no_memory_leak(
                       300, fun() -> st_test_server:remember_last(Server, binary:copy(<<7>>, Size), 20) end)),
    gen_server:stop(Server).

garbage_is_not_a_leak_test() ->
    %% Every iteration makes 200 KB of garbage in the server and the caller.
    {ok, Server} = st_test_server:start_link(),
    ?assertEqual(ok, supertester_performance:assert_no_memory_leak(
                       2000, fun() ->
                                     _ = lists:seq(1, 10000),
                                     st_test_server:remember_last(Server, lists:seq(1, 2000), 1)
                             end)),
    gen_server:stop(Server).

leak_options_test() ->
    ?BADARG(supertester_performance:assert_no_memory_leak(0, fun() -> ok end)),
    ?BADARG(supertester_performance:assert_no_memory_leak(10, not_a_fun)),
    ?BADARG(supertester_performance:assert_no_memory_leak(10, fun() -> ok end, [{threshold, -1}])),
    ?BADARG(supertester_performance:assert_no_memory_leak(10, fun() -> ok end, [{gc, everyone}])),
    ?BADARG(supertester_performance:assert_no_memory_leak(10, fun() -> ok end, [{treshold, 1}])),
    %% One iteration, caller-only collection: runs and judges by growth alone.
    ?assertEqual(ok, supertester_performance:assert_no_memory_leak(1, fun() -> ok end, [{gc, caller}])).

%% measure_mailbox_growth / assert_mailbox_stable -----------------------------

held_server_mailbox_test() ->
    {ok, Server} = st_test_server:start_link(),
    ok = st_test_server:hold(Server),
    Report = supertester_performance:measure_mailbox_growth(
               Server, fun() -> [st_test_server:work(Server) || _ <- lists:seq(1, 500)], sent end),
    ?assertMatch(#{initial_size := 0, final_size := 500, max_size := 500, result := sent,
                   sampling := events, target := alive}, Report),
    ?assert(maps:get(samples, Report) >= 2),
    ?assert(maps:get(avg_size, Report) > 0),
    %% Tracing is switched off afterwards.
    ?assertEqual({flags, []}, erlang:trace_info(Server, flags)),
    ok = st_test_server:release(Server),
    gen_server:stop(Server).

mailbox_by_registered_name_test() ->
    {ok, Server} = st_test_server:start_link(),
    true = register(st_mailbox_test_server, Server),
    ?assertMatch(#{initial_size := 0, final_size := 0, target := alive},
                 supertester_performance:measure_mailbox_growth(
                   st_mailbox_test_server, fun() -> st_test_server:sync(Server) end, [{sampling_interval, 1}])),
    gen_server:stop(Server).

target_dying_mid_measurement_test() ->
    {ok, Server} = st_test_server:start(),
    Report = supertester_performance:measure_mailbox_growth(
               Server, fun() ->
                               Ref = monitor(process, Server),
                               exit(Server, kill),
                               receive {'DOWN', Ref, process, Server, _} -> killed end
                       end),
    ?assertMatch(#{final_size := 0, result := killed, target := {down, killed}}, Report).

already_traced_target_is_left_alone_test() ->
    {ok, Server} = st_test_server:start_link(),
    Tracer = spawn_link(fun() -> receive stop -> ok end end),
    1 = erlang:trace(Server, true, [send, {tracer, Tracer}]),
    Report = supertester_performance:measure_mailbox_growth(
               Server, fun() -> st_test_server:sync(Server) end, [{sampling_interval, 1}]),
    ?assertMatch(#{sampling := interval, target := alive}, Report),
    ?assertEqual({tracer, Tracer}, erlang:trace_info(Server, tracer)),
    ?assertEqual({flags, [send]}, erlang:trace_info(Server, flags)),
    erlang:trace(Server, false, [send]),
    Tracer ! stop,
    gen_server:stop(Server).

operation_crash_stops_sampling_test() ->
    {ok, Server} = st_test_server:start_link(),
    ?assertError(boom, supertester_performance:measure_mailbox_growth(
                         Server, fun() -> error(boom) end)),
    ?assertEqual({flags, []}, erlang:trace_info(Server, flags)),
    gen_server:stop(Server).

sampler_stops_tracing_when_its_caller_dies_test() ->
    {ok, Server} = st_test_server:start_link(),
    Parent = self(),
    Caller = spawn(fun() ->
                           supertester_performance:measure_mailbox_growth(
                             Server, fun() -> Parent ! measuring, receive never -> ok end end)
                   end),
    receive measuring -> ok end,
    {tracer, Sampler} = erlang:trace_info(Server, tracer),
    SamplerRef = monitor(process, Sampler),
    exit(Caller, kill),
    receive {'DOWN', SamplerRef, process, Sampler, _} -> ok end,
    ?assertEqual({flags, []}, erlang:trace_info(Server, flags)),
    gen_server:stop(Server).

assert_mailbox_stable_test() ->
    {ok, Server} = st_test_server:start_link(),
    ?assertEqual(ok, supertester_performance:assert_mailbox_stable(
                       Server, [{during, fun() -> st_test_server:sync(Server) end}])),
    ok = st_test_server:hold(Server),
    Message = failure_message(
                fun() ->
                        supertester_performance:assert_mailbox_stable(
                          Server, [{during, fun() -> [st_test_server:work(Server) || _ <- lists:seq(1, 60)] end},
                                   {max_size, 50}])
                end),
    ?assert(contains(Message, "grew to 60 messages, above the maximum of 50")),
    ok = st_test_server:release(Server),
    gen_server:stop(Server).

mailbox_bad_input_test() ->
    {ok, Server} = st_test_server:start_link(),
    ?BADARG(supertester_performance:measure_mailbox_growth(no_such_process, fun() -> ok end)),
    ?BADARG(supertester_performance:measure_mailbox_growth(Server, not_a_fun)),
    ?BADARG(supertester_performance:measure_mailbox_growth(Server, fun() -> ok end, [{sampling_interval, -1}])),
    ?BADARG(supertester_performance:assert_mailbox_stable(Server, [{max_size, 5}])),
    gen_server:stop(Server),
    ?BADARG(supertester_performance:measure_mailbox_growth(Server, fun() -> ok end)).
