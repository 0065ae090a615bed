%% supertester_harness (ConcurrentHarness) on real gen_servers
%% (harness_fixture_server logs every message it handles, in order) and
%% real supervisors (trace_fixture_sup): the seeded schedule and its
%% replay, a planted ordering bug found by one seed and reproduced by it,
%% chaos at a seeded step, failures of each phase, timeouts, cleanup when
%% the caller dies, telemetry forwarding, and :concurrent chaos suites.
-module(supertester_harness_tests).

-include_lib("eunit/include/eunit.hrl").

%% Run inside a peer node.
-export([peer_schedule/2]).

-define(BADARG_ON(Argument, Expr), ?assertError({badarg, #{argument := Argument}}, Expr)).

%% Threads whose messages name their thread and step, so the server's log
%% shows the order they arrived in.
tagged_threads(Threads, Ops) ->
    [[{cast, {T, S}} || S <- lists:seq(0, Ops - 1)] || T <- lists:seq(0, Threads - 1)].

%% A scenario on a fresh fixture server whose invariant hands the server's
%% log to the test process.
log_scenario(Threads, Seed) ->
    Test = self(),
    #{setup => fun() -> harness_fixture_server:start_link([]) end,
      threads => Threads,
      seed => Seed,
      invariant => fun(Pid, _Ctx) -> Test ! {log, harness_fixture_server:log(Pid)}, ok end}.

run_log(Threads, Seed) ->
    {ok, Report} = supertester_harness:run(log_scenario(Threads, Seed)),
    Log = receive {log, L} -> L end,
    {Report, Log}.

%% ------------------------------------------------------------ the schedule

same_seed_same_order_test() ->
    Threads = tagged_threads(4, 5),
    {R1, Log1} = run_log(Threads, 2024),
    {R2, Log2} = run_log(Threads, 2024),
    ?assertEqual(Log1, Log2),
    ?assertEqual(maps:get(schedule, R1), maps:get(schedule, R2)),
    %% The server saw the messages in the schedule's order: the n-th
    %% message came from the n-th step's thread, its steps in order.
    ?assertEqual(maps:get(schedule, R1), [T || {T, _} <- Log1]),
    [?assertEqual(lists:seq(0, 4), [S || {T2, S} <- Log1, T2 =:= T]) || T <- lists:seq(0, 3)],
    ?assertEqual(20, length(Log1)),
    ?assertEqual(2024, maps:get(seed, R1)).

different_seeds_different_orders_test() ->
    Threads = tagged_threads(3, 6),
    Logs = [element(2, run_log(Threads, Seed)) || Seed <- [1, 2, 3, 4]],
    %% 18!/(6!^3) orders: four seeds giving fewer than three distinct ones
    %% would mean the seed is not used.
    ?assert(length(lists:usort(Logs)) >= 3).

events_follow_the_schedule_test() ->
    {Report, _} = run_log(tagged_threads(2, 3), 7),
    #{events := Events, schedule := Schedule, threads := Threads, metrics := Metrics} = Report,
    ?assertEqual(lists:seq(0, 5), [O || #{order := O} <- Events]),
    ?assertEqual(Schedule, [T || #{thread := T} <- Events]),
    ?assertEqual([{cast, {T, S}} || #{thread := T, step := S} <- Events],
                 [Op || #{operation := Op} <- Events]),
    ?assert(lists:all(fun(#{result := R}) -> R =:= {ok, ok} end, Events)),
    ?assertMatch([#{thread := 0, errors := 0, events := [_, _, _]},
                  #{thread := 1, errors := 0, events := [_, _, _]}], Threads),
    ?assertMatch(#{total_operations := 6, thread_count := 2, operation_errors := 0,
                   'mailbox_observed?' := false}, Metrics).

%% The schedule is the C core's pure function of the seed: another VM
%% computes the same one.
schedule_same_in_another_vm_test_() ->
    {timeout, 60,
     fun() ->
             Lengths = [3, 5, 2, 7],
             Local = peer_schedule(99, Lengths),
             Paths = lists:usort([filename:dirname(code:which(M)) || M <- [supertester_nif, ?MODULE]]),
             {ok, Peer, _} = peer:start_link(#{connection => standard_io,
                                               args => lists:append([["-pa", P] || P <- Paths])}),
             Remote = try peer:call(Peer, ?MODULE, peer_schedule, [99, Lengths], 30000)
                      after catch peer:stop(Peer)
                      end,
             ?assertEqual(Local, Remote),
             ?assertEqual(17, length(Local))
     end}.

peer_schedule(Seed, Lengths) ->
    supertester_nif:chaos_interleave(supertester_nif:chaos_rng_new(Seed), Lengths).

%% A planted ordering bug: the count must end at 2, which holds only when
%% the reset reaches the server before both increments. Some seed finds
%% the failure; rerunning that seed fails the same way, and a passing
%% seed passes again.
planted_ordering_bug_is_replayed_by_its_seed_test() ->
    Test = self(),
    Scenario = fun(Seed) ->
                       #{setup => fun() -> harness_fixture_server:start_link([]) end,
                         threads => [[{cast, reset}], [{cast, increment}, {cast, increment}]],
                         seed => Seed,
                         invariant => fun(Pid, _) ->
                                              N = gen_server:call(Pid, value),
                                              Test ! {count, N},
                                              N =:= 2
                                      end}
               end,
    Outcomes = [begin
                    Result = supertester_harness:run(Scenario(Seed)),
                    receive {count, N} -> {Seed, Result =:= {error, {invariant_failed, returned_false}}, N} end
                end || Seed <- lists:seq(1, 30)],
    Failing = [{S, N} || {S, true, N} <- Outcomes],
    Passing = [S || {S, false, 2} <- Outcomes],
    %% Of the three orders, two fail: both kinds show up among 30 seeds.
    ?assertNotEqual([], Failing),
    ?assertNotEqual([], Passing),
    [begin
         ?assertEqual({error, {invariant_failed, returned_false}}, supertester_harness:run(Scenario(S))),
         receive {count, Again} -> ?assertEqual(N, Again) end
     end || {S, N} <- lists:sublist(Failing, 3)],
    [P | _] = Passing,
    ?assertMatch({ok, _}, supertester_harness:run(Scenario(P))),
    receive {count, 2} -> ok end.

%% A turn given to a thread still waiting for its reply waits for it, so
%% a slow call cannot be overtaken by that thread's own next operation.
threads_keep_their_own_order_test() ->
    Test = self(),
    S = #{setup => fun() -> harness_fixture_server:start_link([]) end,
          threads => [[{call, {a, 1}}, {custom, fun(P) -> gen_server:call(P, {a, 2}) end}, {call, {a, 3}}],
                      [{cast, {b, 1}}, {cast, {b, 2}}]],
          seed => 5,
          invariant => fun(Pid, _) -> Test ! {log, harness_fixture_server:log(Pid)} end},
    {ok, #{events := Events}} = supertester_harness:run(S),
    Log = receive {log, L} -> L end,
    ?assertEqual([{a, 1}, {a, 2}, {a, 3}], [M || {a, _} = M <- Log]),
    ?assertEqual([{b, 1}, {b, 2}], [M || {b, _} = M <- Log]),
    ?assertMatch([#{result := {ok, ok}}], [E || #{thread := 0, step := 1} = E <- Events]).

%% Operations overlap: a thread waiting for its reply does not hold the
%% others back. Thread 0's call is never answered (it times out); thread
%% 1, given its turns after it, completes all its calls while thread 0
%% still waits.
a_waiting_thread_does_not_hold_the_others_test() ->
    %% A seed whose schedule gives thread 0 the first turn.
    Seed = hd([Sd || Sd <- lists:seq(1, 100),
                     hd(supertester_nif:chaos_interleave(supertester_nif:chaos_rng_new(Sd),
                                                         [1, 3])) =:= 0]),
    S = #{setup => fun() -> harness_fixture_server:start_link([]) end,
          threads => [[{call, hang}], [value, value, value]],
          call_timeout_ms => 300, seed => Seed},
    {ok, #{events := Events}} = supertester_harness:run(S),
    EndUs = fun(#{timestamp_ms := At, duration_us := D}) -> At * 1000 + D end,
    [Waiting] = [E || #{thread := 0} = E <- Events],
    Others = [E || #{thread := 1} = E <- Events],
    ?assertMatch(#{order := 0, result := {error, timeout}}, Waiting),
    ?assertEqual([{ok, 0}, {ok, 0}, {ok, 0}], [R || #{result := R} <- Others]),
    %% Each finished before the waiting call gave up: they did not wait
    %% for it.
    [?assert(EndUs(E) < EndUs(Waiting)) || E <- Others].

%% ---------------------------------------------------------- building

simple_genserver_scenario_test() ->
    S = supertester_harness:simple_genserver_scenario(harness_fixture_server,
                                                      [increment, {cast, reset}, fun erlang:is_pid/1],
                                                      3, [{default_operation, cast},
                                                          {metadata, #{tag => x}}]),
    ?assertEqual(lists:duplicate(3, [{cast, increment}, {cast, reset}, {custom, fun erlang:is_pid/1}]),
                 maps:get(threads, S)),
    ?assertEqual(#{module => harness_fixture_server, thread_count => 3, tag => x}, maps:get(metadata, S)),
    ?assertMatch(#{timeout_ms := 5000, call_timeout_ms := 1000, default_operation := cast,
                   cast_sync_message := '__supertester_sync__', 'strict_cast_sync?' := false,
                   chaos := undefined, mailbox := undefined, seed := undefined}, S),
    {ok, #{metrics := #{total_operations := 9, operation_errors := 0}}} =
        supertester_harness:run(S#{seed => 1}).

server_opts_reach_start_link_test() ->
    Test = self(),
    S = supertester_harness:simple_genserver_scenario(
          harness_fixture_server, [value], 1,
          [{server_opts, [{count, 41}]}, {seed, 3},
           {invariant, fun(_, #{events := [#{result := R}]}) -> Test ! {value, R} end}]),
    {ok, _} = supertester_harness:run(S),
    receive {value, V} -> ?assertEqual({ok, 41}, V) end.

from_property_config_test() ->
    Config = #{thread_scripts => [[{call, value}], [{cast, increment}, {call, value}]],
               timeout_ms => 2000, metadata => #{case_id => 7}},
    S = supertester_harness:from_property_config(harness_fixture_server, Config,
                                                 [{timeout_ms, 9000}, {call_timeout_ms, 300},
                                                  {metadata, #{run => r}}]),
    ?assertMatch(#{timeout_ms := 2000, call_timeout_ms := 300}, S),
    ?assertEqual(#{module => harness_fixture_server, case_id => 7, run => r}, maps:get(metadata, S)),
    {ok, #{metrics := #{total_operations := 3}, metadata := #{case_id := 7, scenario_id := _}}} =
        supertester_harness:run(S#{seed => 11}).

bad_scenarios_test() ->
    Setup = fun() -> harness_fixture_server:start_link([]) end,
    ?BADARG_ON(threads, supertester_harness:run(#{setup => Setup, threads => []})),
    ?BADARG_ON(setup, supertester_harness:run(#{setup => nope, threads => [[{call, value}]]})),
    ?BADARG_ON(default_operation, supertester_harness:run(#{setup => Setup, threads => [[x]],
                                                            default_operation => info})),
    ?BADARG_ON(operation, supertester_harness:run(#{setup => Setup, threads => [[{custom, 1}]]})),
    %% A misspelt field is refused, not ignored.
    ?assertError({badarg, #{value := timeout}},
                 supertester_harness:run(#{setup => Setup, threads => [[value]], timeout => 10})),
    ?BADARG_ON(seed, supertester_harness:run(#{setup => Setup, threads => [[value]], seed => -1})),
    ?BADARG_ON(thread_count, supertester_harness:simple_genserver_scenario(harness_fixture_server, [value], 0)),
    ?BADARG_ON(crash_spec, supertester_harness:chaos_inject_crash({after_ms, -1})),
    ?BADARG_ON(max_time_ms, supertester_harness:run(#{setup => Setup, threads => [[value]],
                                                      performance_expectations => [{max_time_ms, -1}]})).

%% --------------------------------------------------- phases that fail

setup_failures_test() ->
    Threads = [[value]],
    ?assertEqual({error, nope}, supertester_harness:run(#{setup => fun() -> {error, nope} end,
                                                          threads => Threads})),
    ?assertEqual({error, {invalid_setup_return, ok}},
                 supertester_harness:run(#{setup => fun() -> ok end, threads => Threads})),
    ?assertMatch({error, {setup_failed, {boom, [_ | _]}}},
                 supertester_harness:run(#{setup => fun() -> error(boom) end, threads => Threads})).

invariant_failures_test() ->
    Base = #{setup => fun() -> harness_fixture_server:start_link([]) end, threads => [[value]], seed => 1},
    Run = fun(Inv) -> supertester_harness:run(Base#{invariant => Inv}) end,
    ?assertEqual({error, {invariant_failed, returned_false}}, Run(fun(_, _) -> false end)),
    ?assertEqual({error, {invariant_failed, why}}, Run(fun(_, _) -> {error, why} end)),
    ?assertMatch({error, {invariant_failed, {{badmatch, 2}, [_ | _]}}},
                 Run(fun(_, #{events := Events}) -> 1 = length(Events) + 1 end)),
    ?assertMatch({ok, _}, Run(fun(_, _) -> anything_else end)).

invariant_context_test() ->
    Test = self(),
    S = #{setup => fun() -> {ok, P} = harness_fixture_server:start_link([]), {ok, P, #{mine => 1}} end,
          threads => [[value, increment]], seed => 8,
          invariant => fun(_, Ctx) -> Test ! {ctx, Ctx} end},
    {ok, #{context := Context}} = supertester_harness:run(S),
    ?assertEqual(#{mine => 1}, Context),
    receive {ctx, Ctx} ->
            ?assertMatch(#{mine := 1, seed := 8, schedule := [0, 0], events := [_, _],
                           metrics := #{total_operations := 2}, metadata := #{scenario_id := _},
                           chaos := undefined, mailbox := undefined, performance := undefined}, Ctx)
    end.

cleanup_test() ->
    Test = self(),
    %% The default cleanup stops the server the default setup started.
    S = supertester_harness:simple_genserver_scenario(
          harness_fixture_server, [value], 1,
          [{seed, 1}, {invariant, fun(P, _) -> Test ! {server, P} end}]),
    {ok, _} = supertester_harness:run(S),
    Server = receive {server, P} -> P end,
    ?assertNot(is_process_alive(Server)),
    %% A custom cleanup gets the subject and the setup's context; one that
    %% raises turns the result into cleanup_failed, with the report.
    {ok, Mine} = harness_fixture_server:start_link([]),
    Custom = #{setup => fun() -> {ok, Mine, #{k => v}} end, threads => [[value]], seed => 2,
               cleanup => fun(Pid, Ctx) -> Test ! {cleanup, Pid, Ctx} end},
    {ok, _} = supertester_harness:run(Custom),
    receive {cleanup, Mine, #{k := v}} -> ok end,
    ?assert(is_process_alive(Mine)),
    ?assertMatch({error, {cleanup_failed, {oops, _}, #{events := [_]}}},
                 supertester_harness:run(Custom#{cleanup => fun(_, _) -> error(oops) end})),
    unlink(Mine),
    gen_server:stop(Mine).

operation_errors_are_recorded_test() ->
    S = #{setup => fun() -> harness_fixture_server:start_link([]) end,
          threads => [[{call, hang}], [{custom, fun(_) -> throw(t) end}, {custom, fun(_) -> exit(e) end},
                                       {custom, fun(P) -> is_pid(P) end}]],
          call_timeout_ms => 50, seed => 4},
    {ok, #{events := Events, metrics := #{operation_errors := 3}}} = supertester_harness:run(S),
    Results = maps:from_list([{{T, St}, R} || #{thread := T, step := St, result := R} <- Events]),
    ?assertEqual({error, timeout}, maps:get({0, 0}, Results)),
    ?assertEqual({error, {throw, t}}, maps:get({1, 0}, Results)),
    ?assertEqual({error, {exit, e}}, maps:get({1, 1}, Results)),
    ?assertEqual({ok, true}, maps:get({1, 2}, Results)).

a_crashing_call_is_an_error_event_test() ->
    quiet(fun() ->
                  S = #{setup => fun() -> harness_fixture_server:start_link([]) end,
                        threads => [[{call, crash}, {call, value}]], seed => 1},
                  %% This setup links the server to the test process:
                  %% trap its exit for this test.
                  process_flag(trap_exit, true),
                  try
                      {ok, #{events := [First, Second]}} = supertester_harness:run(S),
                      ?assertMatch({error, {asked_to_crash, _}}, maps:get(result, First)),
                      ?assertMatch({error, noproc}, maps:get(result, Second))
                  after
                      process_flag(trap_exit, false),
                      receive {'EXIT', _, _} -> ok after 0 -> ok end
                  end
          end).

%% ------------------------------------------------------------ timeouts

timeout_reports_what_was_in_flight_test() ->
    Test = self(),
    Stuck = fun(_) -> Test ! {stuck, self()}, receive never -> ok end end,
    S = #{setup => fun() -> harness_fixture_server:start_link([]) end,
          threads => [[{custom, Stuck}], [value, value]], timeout_ms => 200, seed => 6},
    {error, {timeout, Details}} = supertester_harness:run(S),
    Thread = receive {stuck, P} -> P end,
    #{seed := 6, in_flight := InFlight, completed := Completed} = Details,
    ?assertEqual([#{thread => 0, step => 0, order => Order, operation => custom}
                  || #{thread := 0, order := Order} <- InFlight], InFlight),
    ?assertMatch([_], InFlight),
    ?assertEqual(2, Completed),
    %% The stuck thread does not outlive the run.
    ?assertNot(is_process_alive(Thread)).

caller_death_ends_the_run_test() ->
    Test = self(),
    Stuck = fun(P) -> Test ! {stuck, self(), P}, receive never -> ok end end,
    S = supertester_harness:simple_genserver_scenario(harness_fixture_server, [{custom, Stuck}], 1,
                                                      [{seed, 1}, {timeout_ms, 60000}]),
    {Caller, CallerMon} = spawn_monitor(fun() -> supertester_harness:run(S) end),
    {Thread, Server} = receive {stuck, T, P} -> {T, P} end,
    Mons = [erlang:monitor(process, Pid) || Pid <- [Thread, Server]],
    exit(Caller, kill),
    receive {'DOWN', CallerMon, process, Caller, killed} -> ok end,
    %% The thread and the server the default setup started both end.
    [receive {'DOWN', M, process, _, _} -> ok end || M <- Mons].

%% ---------------------------------------------------------------- chaos

chaos_crash_leaves_the_caller_alive_test() ->
    S = supertester_harness:simple_genserver_scenario(
          harness_fixture_server, [increment, value], 3,
          [{seed, 9}, {chaos, supertester_harness:chaos_inject_crash()}]),
    {ok, #{chaos := Chaos, events := Events}} = supertester_harness:run(S),
    ?assertMatch(#{result := ok, duration_ms := _, started_at_step := _}, Chaos),
    Step = maps:get(started_at_step, Chaos),
    ?assert(Step >= 0 andalso Step =< 6),
    %% The same seed starts the chaos at the same step.
    {ok, #{chaos := #{started_at_step := Step}}} = supertester_harness:run(S),
    %% Operations before the chaos step all succeeded.
    ?assert(lists:all(fun(#{order := O, result := R}) -> O >= Step orelse element(1, R) =:= ok end,
                      Events)).

chaos_step_follows_the_seed_test() ->
    Steps = [begin
                 S = supertester_harness:simple_genserver_scenario(
                       harness_fixture_server, [value, value, value, value], 4,
                       [{seed, Seed}, {chaos, fun(_, _) -> ok end}]),
                 {ok, #{chaos := #{started_at_step := Step}}} = supertester_harness:run(S),
                 Step
             end || Seed <- lists:seq(1, 12)],
    ?assert(lists:all(fun(St) -> St >= 0 andalso St =< 16 end, Steps)),
    ?assert(length(lists:usort(Steps)) >= 4).

chaos_hook_sees_the_scenario_test() ->
    Test = self(),
    Hook = fun(P, Ctx) -> Test ! {hook, P, Ctx}, done end,
    S = #{setup => fun() -> {ok, P} = harness_fixture_server:start_link([]), {ok, P, #{c => 1}} end,
          threads => [[value]], seed => 77, chaos => Hook},
    {ok, #{chaos := #{result := done}}} = supertester_harness:run(S),
    receive {hook, _, Ctx} ->
            ?assertMatch(#{seed := 77, setup_context := #{c := 1}, metadata := #{scenario_id := _},
                           started_at_step := _}, Ctx)
    end.

chaos_failures_test() ->
    Base = #{setup => fun() -> harness_fixture_server:start_link([]) end, threads => [[value]], seed => 1},
    ?assertMatch({error, {chaos_failed, {kaput, _}}},
                 supertester_harness:run(Base#{chaos => fun(_, _) -> error(kaput) end})),
    Test = self(),
    Slow = fun(_, _) -> Test ! {chaos, self()}, receive never -> ok end end,
    ?assertEqual({error, {chaos_failed, timeout}},
                 supertester_harness:run(Base#{chaos => Slow, timeout_ms => 100})),
    Chaos = receive {chaos, P} -> P end,
    ?assertNot(is_process_alive(Chaos)).

chaos_kill_children_on_a_supervisor_test() ->
    Args = #{strategy => one_for_one, intensity => 100, period => 5,
             children => [trace_fixture_sup:child(Id, #{}) || Id <- [a, b, c]]},
    trace_fixture_sup:with_sup(
      Args,
      fun(Sup) ->
              Hook = supertester_harness:chaos_kill_children([{kill_rate, 1.0}, {duration_ms, 60},
                                                              {kill_interval_ms, 10}]),
              S = #{setup => fun() -> {ok, Sup} end, cleanup => fun(_, _) -> ok end,
                    threads => [[{call, which_children}], [{custom, fun(P) -> supervisor:count_children(P) end}]],
                    seed => 21, chaos => Hook, timeout_ms => 10000},
              {ok, #{chaos := #{result := Report}}} = supertester_harness:run(S),
              ?assertMatch(#{killed := K, supervisor_crashed := false, seed := 21} when K >= 1, Report),
              ?assert(is_process_alive(Sup))
      end).

%% ------------------------------------------- mailbox and performance

mailbox_is_measured_test() ->
    S = supertester_harness:simple_genserver_scenario(harness_fixture_server, [{cast, increment}], 4,
                                                      [{seed, 2}, {mailbox, [{sampling_interval, 1}]}]),
    {ok, #{mailbox := Mailbox, metrics := Metrics}} = supertester_harness:run(S),
    ?assertMatch(#{max_size := _, initial_size := 0, samples := _}, Mailbox),
    ?assertNot(maps:is_key(result, Mailbox)),
    ?assertMatch(#{'mailbox_observed?' := true}, Metrics).

performance_expectations_test() ->
    Base = supertester_harness:simple_genserver_scenario(harness_fixture_server, [value], 2, [{seed, 3}]),
    {ok, #{performance := Perf}} =
        supertester_harness:run(Base#{performance_expectations => [{max_time_ms, 60000}]}),
    ?assertMatch(#{time_us := _, memory_bytes := _, reductions := _}, Perf),
    ?assertMatch({error, {performance_failed, #{error := {assertion_failed, _},
                                                measurement := #{reductions := _}}}},
                 supertester_harness:run(Base#{performance_expectations => [{max_reductions, 0}]})),
    ?assertMatch({ok, _}, supertester_harness:run_with_performance(Base, [{max_time_ms, 60000}])),
    ?assertError({assertion_failed, _}, supertester_harness:run_with_performance(Base, [{max_reductions, 0}])).

%% ------------------------------------------------------------ telemetry

%% A stand-in `telemetry' module, compiled here, that forwards each event
%% to the test: the harness calls it when it is there and runs the same
%% without it.
telemetry_events_when_loaded_test() ->
    false = code:is_loaded(telemetry),
    Test = self(),
    register(supertester_telemetry_probe, Test),
    load_fake_telemetry(),
    S = supertester_harness:simple_genserver_scenario(
          harness_fixture_server, [value], 2,
          [{seed, 5}, {chaos, fun(_, _) -> ok end}, {mailbox, []},
           {performance_expectations, [{max_time_ms, 60000}]}, {metadata, #{who => me}}]),
    try
        {ok, #{metadata := #{scenario_id := Id}}} = supertester_harness:run(S),
        Events = drain_telemetry(),
        Names = [E || {E, _, _} <- Events],
        ?assertEqual([supertester, concurrent, scenario, start], hd(Names)),
        ?assertEqual([supertester, concurrent, scenario, stop], lists:last(Names)),
        [?assert(lists:member(E, Names)) || E <- [[supertester, chaos, start], [supertester, chaos, stop],
                                                 [supertester, concurrent, mailbox, sample],
                                                 [supertester, performance, scenario, measured]]],
        ?assert(lists:all(fun({_, _, #{scenario_id := I, who := me}}) -> I =:= Id end, Events)),
        {_, #{status := ok, duration_ms := _}, _} = lists:last(Events),
        {error, _} = supertester_harness:run(S#{invariant => fun(_, _) -> false end}),
        {_, #{status := error}, #{error := {invariant_failed, returned_false}}} = lists:last(drain_telemetry())
    after
        unregister(supertester_telemetry_probe),
        code:purge(telemetry),
        code:delete(telemetry),
        code:purge(telemetry)
    end,
    %% Gone again: the harness runs without it.
    ?assertMatch({ok, _}, supertester_harness:run(S)),
    ?assertEqual([], drain_telemetry()).

load_fake_telemetry() ->
    Forms = [{attribute, 1, module, telemetry},
             {attribute, 1, export, [{execute, 3}]},
             {function, 1, execute, 3,
              [{clause, 1, [{var, 1, 'E'}, {var, 1, 'M'}, {var, 1, 'D'}], [],
                [{op, 1, '!', {atom, 1, supertester_telemetry_probe},
                  {tuple, 1, [{atom, 1, telemetry}, {var, 1, 'E'}, {var, 1, 'M'}, {var, 1, 'D'}]}}]}]}],
    {ok, telemetry, Bin} = compile:forms(Forms),
    {module, telemetry} = code:load_binary(telemetry, "telemetry_fake.erl", Bin).

drain_telemetry() ->
    receive {telemetry, E, M, D} -> [{E, M, D} | drain_telemetry()]
    after 0 -> []
    end.

%% -------------------------------------------------- chaos suites

concurrent_entries_in_a_chaos_suite_test() ->
    Args = #{strategy => one_for_one, intensity => 100, period => 5,
             children => [trace_fixture_sup:child(Id, #{}) || Id <- [a, b]]},
    trace_fixture_sup:with_sup(
      Args,
      fun(Sup) ->
              Build = fun(S) ->
                              #{setup => fun() -> {ok, S} end, cleanup => fun(_, _) -> ok end,
                                threads => [[{call, which_children}], [{call, count_children}]]}
                      end,
              Failing = (Build(Sup))#{invariant => fun(_, _) -> false end},
              Report = supertester_chaos:run_chaos_suite(
                         Sup, [#{type => concurrent, build => Build},
                               #{type => concurrent, scenario => Build(Sup)},
                               #{type => kill_children, kill_rate => 1.0, duration_ms => 30},
                               #{type => concurrent, scenario => Failing},
                               #{type => concurrent}],
                         [{seed, 123}, {timeout, 20000}]),
              ?assertMatch(#{total_scenarios := 5, passed := 3, failed := 2}, Report),
              #{results := [R1, R2, _, R4, R5]} = Report,
              ?assertMatch(#{status := passed, report := #{seed := 123, metrics := #{total_operations := 2}}}, R1),
              ?assertMatch(#{status := passed}, R2),
              ?assertMatch(#{status := failed, reason := {invariant_failed, returned_false}}, R4),
              ?assertMatch(#{status := failed, reason := {bad_scenario, needs_scenario_or_build}}, R5),
              ?assert(is_process_alive(Sup))
      end).

%% ------------------------------------------------------------ helpers

%% Runs Fun with the crash reports of the fixture server kept out of the
%% test output.
quiet(Fun) ->
    #{level := Level} = logger:get_primary_config(),
    ok = logger:set_primary_config(level, none),
    try Fun()
    after logger:set_primary_config(level, Level)
    end.
