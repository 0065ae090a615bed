%% supertester_supervision (SupervisorHelpers) and the supervisor waits of
%% supertester_otp, against real OTP supervisors (trace_fixture_sup).
%%
%% Every supervisor is started unlinked from the test process and stopped
%% at the end of its test (with_sup/2), dead or alive.
-module(supertester_supervision_tests).

-include_lib("eunit/include/eunit.hrl").

-import(trace_fixture_sup, [start_sup/1, stop_sup/1, with_sup/2, children/1]).

-define(BADARG(Expr), ?assertError({badarg, #{argument := _}}, Expr)).
-define(ASSERTION_FAILED(Expr), ?assertError({assertion_failed, #{details := _}}, Expr)).

%% ------------------------------------------------------------ helpers

sup_args(Strategy) ->
    sup_args(Strategy, #{}).

sup_args(Strategy, ServerOpts) ->
    #{strategy => Strategy, intensity => 10, period => 5,
      children => [trace_fixture_sup:child(Id, ServerOpts) || Id <- [a, b, c]]}.

start_sup(Name, Args) ->
    {ok, Sup} = supervisor:start_link({local, Name}, trace_fixture_sup, Args),
    true = unlink(Sup),
    Sup.

pid_of(Sup, Id) ->
    {Id, Pid} = lists:keyfind(Id, 1, children(Sup)),
    Pid.

kill_and_wait(Pid) ->
    Mon = erlang:monitor(process, Pid),
    exit(Pid, kill),
    receive {'DOWN', Mon, process, Pid, _} -> ok end.

all_alive(Pids) ->
    lists:all(fun erlang:is_process_alive/1, Pids).

differences(Fun) ->
    try Fun() of
        Other -> error({expected_assertion_failure, Other})
    catch
        error:{assertion_failed, #{assertion := assert_supervision_tree_structure,
                                   details := #{differences := Diffs}}} ->
            Diffs
    end.

%% ------------------------------------------------------------ test_restart_strategy

restart_strategy_test_() ->
    Cases =
        [{one_for_one, {kill_child, b}, [b], [a, c]},
         {one_for_one, {kill_children, [a, c]}, [a, c], [b]},
         {one_for_one, {kill_children, [c, a]}, [a, c], [b]},
         {one_for_one, {cascade_failure, b}, [b, c], [a]},
         {one_for_all, {kill_child, b}, [a, b, c], []},
         {one_for_all, {kill_child, c}, [a, b, c], []},
         {one_for_all, {kill_children, [a, c]}, [a, b, c], []},
         {rest_for_one, {kill_child, a}, [a, b, c], []},
         {rest_for_one, {kill_child, b}, [b, c], [a]},
         {rest_for_one, {kill_child, c}, [c], [a, b]},
         {rest_for_one, {kill_children, [b, c]}, [b, c], [a]}],
    [{lists:flatten(io_lib:format("~p ~p", [Strategy, Scenario])),
      fun() -> restart_strategy(Strategy, Scenario, Restarted, NotRestarted) end}
     || {Strategy, Scenario, Restarted, NotRestarted} <- Cases].

restart_strategy(Strategy, Scenario, Restarted, NotRestarted) ->
    with_sup(sup_args(Strategy),
             fun(Sup) ->
                     Before = children(Sup),
                     Result = supertester_supervision:test_restart_strategy(Sup, Strategy, Scenario),
                     ?assertEqual(#{restarted => Restarted, not_restarted => NotRestarted,
                                    supervisor_alive => true}, Result),
                     After = children(Sup),
                     %% The report says what which_children says.
                     ?assertEqual([a, b, c], [Id || {Id, _} <- After]),
                     ?assertEqual(NotRestarted,
                                  [Id || {Id, Pid} <- After, lists:member({Id, Pid}, Before)]),
                     ?assert(all_alive([Pid || {_, Pid} <- After]))
             end).

%% Children that trap exits still die from `kill', and are restarted; under
%% one_for_all the supervisor shuts the trapping siblings down too.
trapping_children_restart_test() ->
    with_sup(sup_args(one_for_all, #{trap_exit => true}),
             fun(Sup) ->
                     Before = children(Sup),
                     ?assertEqual(#{restarted => [a, b, c], not_restarted => [],
                                    supervisor_alive => true},
                                  supertester_supervision:test_restart_strategy(
                                    Sup, one_for_all, {kill_child, b}, [{timeout, 5000}])),
                     After = children(Sup),
                     ?assertEqual([], [P || {_, P} <- Before, is_process_alive(P)]),
                     ?assert(all_alive([P || {_, P} <- After]))
             end).

wrong_strategy_is_an_assertion_failure_test() ->
    with_sup(sup_args(one_for_one),
             fun(Sup) ->
                     Before = children(Sup),
                     ?assertError({assertion_failed,
                                   #{assertion := test_restart_strategy,
                                     details := #{expected := one_for_all,
                                                  actual := one_for_one}}},
                                  supertester_supervision:test_restart_strategy(
                                    Sup, one_for_all, {kill_child, a})),
                     Message = st_test_lib:failure_message(
                                 fun() -> supertester_supervision:test_restart_strategy(
                                            Sup, rest_for_one, {kill_child, a})
                                 end),
                     ?assert(st_test_lib:contains(Message, "one_for_one")),
                     %% Nothing was killed.
                     ?assertEqual(Before, children(Sup))
             end).

bad_restart_arguments_test() ->
    with_sup(sup_args(one_for_one),
             fun(Sup) ->
                     Before = children(Sup),
                     ?BADARG(supertester_supervision:test_restart_strategy(
                               Sup, one_for_one, {kill_child, nobody})),
                     ?BADARG(supertester_supervision:test_restart_strategy(
                               Sup, one_for_one, {kill_children, [a, nobody]})),
                     ?BADARG(supertester_supervision:test_restart_strategy(
                               Sup, one_for_one, {explode, a})),
                     ?BADARG(supertester_supervision:test_restart_strategy(
                               Sup, "one_for_one", {kill_child, a})),
                     ?BADARG(supertester_supervision:test_restart_strategy(
                               Sup, one_for_one, {kill_child, a}, [{wait, 1}])),
                     ?BADARG(supertester_supervision:test_restart_strategy(
                               supertester_supervision_tests_nobody, one_for_one,
                               {kill_child, a})),
                     %% A failed kill_children kills nobody.
                     ?assertEqual(Before, children(Sup))
             end).

%% An id listed twice is one victim: the call answers for it rather than
%% waiting for a second death that never comes.
duplicate_victims_test() ->
    with_sup(sup_args(one_for_one),
             fun(Sup) ->
                     Result = try supertester_supervision:test_restart_strategy(
                                    Sup, one_for_one, {kill_children, [a, a]}, [{timeout, 1000}])
                              catch error:{badarg, _} -> badarg
                              end,
                     ?assert(Result =:= badarg orelse
                             Result =:= #{restarted => [a], not_restarted => [b, c],
                                          supervisor_alive => true})
             end).

%% Too many restarts: the supervisor gives up, the call reports it and
%% returns.
restart_intensity_exceeded_test() ->
    Args = (sup_args(one_for_one))#{intensity => 1, period => 3600},
    with_sup(Args,
             fun(Sup) ->
                     Mon = erlang:monitor(process, Sup),
                     Result = supertester_supervision:test_restart_strategy(
                                Sup, one_for_one, {kill_children, [a, b, c]}),
                     ?assertMatch(#{supervisor_alive := false}, Result),
                     ?assertEqual(#{restarted => [], not_restarted => [a, b, c],
                                    supervisor_alive => false}, Result),
                     ?assertEqual(shutdown,
                                  receive {'DOWN', Mon, process, Sup, Reason} -> Reason end)
             end).

%% test_restart_strategy on a supervisor that a supervision trace already
%% traces: its watch cannot trace it, and it waits without events.
restart_strategy_on_a_traced_supervisor_test() ->
    with_sup(sup_args(one_for_one),
             fun(Sup) ->
                     {ok, Stop} = supertester_supervision:trace_supervision_events(Sup),
                     Result = (catch supertester_supervision:test_restart_strategy(
                                       Sup, one_for_one, {kill_child, b})),
                     Events = Stop(),
                     ?assertEqual(#{restarted => [b], not_restarted => [a, c],
                                    supervisor_alive => true}, Result),
                     ?assertMatch([{child_terminated, b, _, killed},
                                   {child_restarted, b, _, _}], Events)
             end).

%% ------------------------------------------------------------ trace_supervision_events

one_for_all_cascade_events_test() ->
    with_sup(sup_args(one_for_all),
             fun(Sup) ->
                     [{a, A}, {b, B}, {c, C}] = children(Sup),
                     {ok, Stop} = supertester_supervision:trace_supervision_events(Sup),
                     kill_and_wait(B),
                     ok = supertester_supervision:wait_for_supervisor_stabilization(Sup),
                     [{a, A2}, {b, B2}, {c, C2}] = children(Sup),
                     Events = Stop(),
                     %% b's death, then the siblings the supervisor shut
                     %% down (last started first), then every restart in
                     %% start order.
                     ?assertEqual([{child_terminated, b, B, killed},
                                   {child_terminated, c, C, shutdown},
                                   {child_terminated, a, A, shutdown},
                                   {child_restarted, a, A, A2},
                                   {child_restarted, b, B, B2},
                                   {child_restarted, c, C, C2}], Events),
                     ?assert(all_alive([A2, B2, C2])),
                     ?assertEqual([], [P || P <- [A, B, C], lists:member(P, [A2, B2, C2])])
             end).

%% start_trace/stop_trace keep what the stop function drops: the time from
%% each restart's cause to the replacement, and the session's counters.
restart_latency_is_measured_test() ->
    with_sup(sup_args(one_for_one),
             fun(Sup) ->
                     [{a, A}, _, _] = children(Sup),
                     Trace = supertester_supervision:start_trace(Sup, []),
                     kill_and_wait(A),
                     ok = supertester_supervision:wait_for_supervisor_stabilization(Sup),
                     [{a, A2}, _, _] = children(Sup),
                     #{events := Events, restart_latency_ns := Latencies, info := Info} =
                         supertester_supervision:stop_trace(Trace),
                     ?assertEqual([{child_terminated, a, A, killed},
                                   {child_restarted, a, A, A2}], Events),
                     ?assertMatch([L] when is_integer(L) andalso L > 0, Latencies),
                     ?assertMatch(#{state := requested, dropped := 0}, Info)
             end).

one_for_one_events_test() ->
    with_sup(sup_args(one_for_one),
             fun(Sup) ->
                     [{a, A}, {b, B}, {c, C}] = children(Sup),
                     {ok, Stop} = supertester_supervision:trace_supervision_events(Sup, [{max_events, 1000}]),
                     kill_and_wait(B),
                     ok = supertester_supervision:wait_for_supervisor_stabilization(Sup),
                     kill_and_wait(A),
                     ok = supertester_supervision:wait_for_supervisor_stabilization(Sup),
                     [{a, A2}, {b, B2}, {c, C}] = children(Sup),
                     ?assertEqual([{child_terminated, b, B, killed},
                                   {child_restarted, b, B, B2},
                                   {child_terminated, a, A, killed},
                                   {child_restarted, a, A, A2}], Stop())
             end).

rest_for_one_events_test() ->
    with_sup(sup_args(rest_for_one),
             fun(Sup) ->
                     [{a, A}, {b, B}, {c, C}] = children(Sup),
                     {ok, Stop} = supertester_supervision:trace_supervision_events(Sup),
                     kill_and_wait(B),
                     ok = supertester_supervision:wait_for_supervisor_stabilization(Sup),
                     [{a, A}, {b, B2}, {c, C2}] = children(Sup),
                     ?assertEqual([{child_terminated, b, B, killed},
                                   {child_terminated, c, C, shutdown},
                                   {child_restarted, b, B, B2},
                                   {child_restarted, c, C, C2}], Stop())
             end).

no_events_when_nothing_happens_test() ->
    with_sup(sup_args(one_for_one),
             fun(Sup) ->
                     {ok, Stop} = supertester_supervision:trace_supervision_events(Sup),
                     %% Calls to the supervisor are not supervision events.
                     _ = supervisor:which_children(Sup),
                     _ = supervisor:count_children(Sup),
                     ?assertEqual([], Stop()),
                     %% The trace is gone: the supervisor can be traced again.
                     ?assertEqual({tracer, []}, erlang:trace_info(Sup, tracer))
             end).

dynamic_child_started_test() ->
    with_sup(sup_args(one_for_one),
             fun(Sup) ->
                     {ok, Stop} = supertester_supervision:trace_supervision_events(Sup),
                     {ok, D} = supervisor:start_child(Sup, trace_fixture_sup:child(d, #{})),
                     ?assertEqual([{child_started, d, D}], Stop())
             end).

%% A child added after the trace started keeps its id in every event, also
%% once it has been restarted under a new pid.
dynamic_child_restarted_test() ->
    with_sup(sup_args(one_for_one),
             fun(Sup) ->
                     {ok, Stop} = supertester_supervision:trace_supervision_events(Sup),
                     {ok, D} = supervisor:start_child(Sup, trace_fixture_sup:child(d, #{})),
                     kill_and_wait(D),
                     ok = supertester_supervision:wait_for_supervisor_stabilization(Sup),
                     D2 = pid_of(Sup, d),
                     ?assertEqual([{child_started, d, D},
                                   {child_terminated, d, D, killed},
                                   {child_restarted, d, D, D2}], Stop())
             end).

%% Restart types: a temporary child is not restarted, a transient one is
%% not restarted after a normal exit.
restart_types_events_test() ->
    Args = #{strategy => one_for_one,
             children => [trace_fixture_sup:child(p, #{}),
                          trace_fixture_sup:child(tr, #{}, transient),
                          trace_fixture_sup:child(tmp, #{}, temporary)]},
    with_sup(Args,
             fun(Sup) ->
                     [{p, P}, {tr, Tr}, {tmp, Tmp}] = children(Sup),
                     {ok, Stop} = supertester_supervision:trace_supervision_events(Sup),
                     kill_and_wait(Tmp),
                     ok = gen_server:stop(Tr),
                     %% Stable: no listed pid is dead, so the supervisor has
                     %% handled both exits.
                     ok = supertester_supervision:wait_for_supervisor_stabilization(Sup),
                     ?assertEqual([{p, P}, {tr, undefined}], children(Sup)),
                     ?assertEqual([{child_terminated, tmp, Tmp, killed},
                                   {child_terminated, tr, Tr, normal}], Stop())
             end).

%% The supervisor gives up: the events end with its own termination, and
%% nothing hangs.
supervisor_terminated_event_test() ->
    Args = (sup_args(one_for_one))#{intensity => 1, period => 3600},
    with_sup(Args,
             fun(Sup) ->
                     [{a, A}, {b, B}, {c, C}] = children(Sup),
                     {ok, Stop} = supertester_supervision:trace_supervision_events(Sup),
                     kill_and_wait(A),
                     ok = supertester_supervision:wait_for_supervisor_stabilization(Sup),
                     A2 = pid_of(Sup, a),
                     Mon = erlang:monitor(process, Sup),
                     exit(B, kill),
                     ?assertEqual(shutdown,
                                  receive {'DOWN', Mon, process, Sup, Reason} -> Reason end),
                     ?assertEqual([{child_terminated, a, A, killed},
                                   {child_restarted, a, A, A2},
                                   {child_terminated, b, B, killed},
                                   {child_terminated, c, C, shutdown},
                                   {child_terminated, a, A2, shutdown},
                                   {supervisor_terminated, Sup, shutdown}], Stop())
             end).

trace_supervision_events_arguments_test() ->
    ?BADARG(supertester_supervision:trace_supervision_events(supertester_supervision_tests_nobody)),
    with_sup(sup_args(one_for_one),
             fun(Sup) ->
                     ?BADARG(supertester_supervision:trace_supervision_events(Sup, [{max, 1}])),
                     %% A supervisor traced by someone else cannot be traced.
                     1 = erlang:trace(Sup, true, ['receive']),
                     try
                         ?assertError({cannot_trace, {already_traced, Sup, _}},
                                      supertester_supervision:trace_supervision_events(Sup))
                     after
                         erlang:trace(Sup, false, ['receive'])
                     end,
                     flush_trace_messages(Sup)
             end).

flush_trace_messages(Pid) ->
    receive {trace, Pid, _, _} -> flush_trace_messages(Pid)
    after 0 -> ok
    end.

%% ------------------------------------------------------------ tree structure

nested_args() ->
    #{strategy => one_for_one,
      children => [trace_fixture_sup:child(w1, #{}),
                   trace_fixture_sup:sup_child(
                     sub, #{strategy => rest_for_one,
                            children => [trace_fixture_sup:child(x, #{}),
                                         trace_fixture_sup:child(y, #{})]})]}.

nested_expected() ->
    #{supervisor => trace_fixture_sup, strategy => one_for_one,
      children => [{w1, trace_fixture_server},
                   {sub, #{supervisor => trace_fixture_sup, strategy => rest_for_one,
                           children => [{y, trace_fixture_server},
                                        {x, trace_fixture_server}]}}]}.

tree_structure_matches_test() ->
    with_sup(nested_args(),
             fun(Sup) ->
                     ?assertEqual(ok, supertester_supervision:assert_supervision_tree_structure(
                                        Sup, nested_expected())),
                     %% Every key is optional.
                     ?assertEqual(ok, supertester_supervision:assert_supervision_tree_structure(
                                        Sup, #{})),
                     ?assertEqual(ok, supertester_supervision:assert_supervision_tree_structure(
                                        Sup, #{strategy => one_for_one})),
                     ?assertEqual(ok, supertester_supervision:assert_supervision_tree_structure(
                                        Sup, #{children => [{w1, trace_fixture_server},
                                                            {sub, #{}}]}))
             end).

tree_structure_by_name_test() ->
    Name = supertester_supervision_tests_top,
    Sup = start_sup(Name, nested_args()),
    try
        ?assertEqual(ok, supertester_supervision:assert_supervision_tree_structure(
                           Name, nested_expected())),
        ?assertEqual([{[], strategy, one_for_all, one_for_one}],
                     differences(fun() ->
                                         supertester_supervision:assert_supervision_tree_structure(
                                           Name, #{strategy => one_for_all})
                                 end))
    after
        stop_sup(Sup)
    end.

tree_structure_differences_test() ->
    with_sup(nested_args(),
             fun(Sup) ->
                     Assert = fun(Expected) ->
                                      differences(fun() ->
                                                          supertester_supervision:assert_supervision_tree_structure(
                                                            Sup, Expected)
                                                  end)
                              end,
                     %% Wrong strategy, at the root and in the subtree.
                     ?assertEqual([{[], strategy, rest_for_one, one_for_one}],
                                  Assert(#{strategy => rest_for_one})),
                     ?assertEqual([{[sub], strategy, one_for_all, rest_for_one}],
                                  Assert(#{children => [{w1, trace_fixture_server},
                                                        {sub, #{strategy => one_for_all}}]})),
                     %% A missing child and an unexpected one.
                     ?assertEqual([{[w2], missing_child, w2, absent}],
                                  Assert(#{children => [{w1, trace_fixture_server},
                                                        {w2, trace_fixture_server},
                                                        {sub, #{}}]})),
                     ?assertEqual([{[sub], unexpected_child, absent, sub}],
                                  Assert(#{children => [{w1, trace_fixture_server}]})),
                     ?assertEqual([{[sub, y], unexpected_child, absent, y}],
                                  Assert(#{children => [{w1, trace_fixture_server},
                                                        {sub, #{children => [{x, trace_fixture_server}]}}]})),
                     %% The wrong module for a worker, and for the supervisor.
                     ?assertEqual([{[w1], module, st_test_server, trace_fixture_server}],
                                  Assert(#{children => [{w1, st_test_server}, {sub, #{}}]})),
                     ?assertEqual([{[], supervisor, st_test_sup, trace_fixture_sup}],
                                  Assert(#{supervisor => st_test_sup})),
                     %% A worker where a subtree is expected.
                     ?assertMatch([{[w1], supervisor_child, #{}, W1}] when is_pid(W1),
                                  Assert(#{children => [{w1, #{}}, {sub, #{}}]})),
                     %% Every difference at once.
                     Diffs = Assert(#{strategy => one_for_all,
                                      children => [{w1, st_test_server}, {w9, trace_fixture_server},
                                                   {sub, #{strategy => one_for_one}}]}),
                     ?assertEqual(lists:sort([{[], strategy, one_for_all, one_for_one},
                                              {[w9], missing_child, w9, absent},
                                              {[w1], module, st_test_server, trace_fixture_server},
                                              {[sub], strategy, one_for_one, rest_for_one}]),
                                  lists:sort(Diffs)),
                     %% The message names them.
                     Message = st_test_lib:failure_message(
                                 fun() -> supertester_supervision:assert_supervision_tree_structure(
                                            Sup, #{children => [{w1, trace_fixture_server}]})
                                 end),
                     ?assert(st_test_lib:contains(Message, "sub"))
             end).

tree_structure_bad_arguments_test() ->
    with_sup(nested_args(),
             fun(Sup) ->
                     ?BADARG(supertester_supervision:assert_supervision_tree_structure(Sup, [])),
                     ?BADARG(supertester_supervision:assert_supervision_tree_structure(
                               Sup, #{children => w1})),
                     ?BADARG(supertester_supervision:assert_supervision_tree_structure(
                               Sup, #{children => [w1]})),
                     ?BADARG(supertester_supervision:assert_supervision_tree_structure(
                               supertester_supervision_tests_nobody, #{}))
             end).

%% ------------------------------------------------------------ stabilization and counts

stabilization_after_kills_test_() ->
    [{atom_to_list(Strategy),
      fun() ->
              with_sup(sup_args(Strategy),
                       fun(Sup) ->
                               Before = children(Sup),
                               [exit(P, kill) || {_, P} <- Before],
                               ?assertEqual(ok, supertester_supervision:wait_for_supervisor_stabilization(Sup)),
                               After = children(Sup),
                               ?assertEqual([a, b, c], [Id || {Id, _} <- After]),
                               ?assert(all_alive([P || {_, P} <- After])),
                               ?assertEqual([], [P || {_, P} <- After, lists:keymember(P, 2, Before)]),
                               ?assertEqual(3, supertester_supervision:get_active_child_count(Sup))
                       end)
      end} || Strategy <- [one_for_one, one_for_all, rest_for_one]].

stabilization_when_stable_and_by_name_test() ->
    Name = supertester_supervision_tests_stable,
    Sup = start_sup(Name, sup_args(one_for_one)),
    try
        ?assertEqual(ok, supertester_supervision:wait_for_supervisor_stabilization(Name, 1000)),
        ?BADARG(supertester_supervision:wait_for_supervisor_stabilization(Name, -1)),
        ?BADARG(supertester_supervision:wait_for_supervisor_stabilization(
                  supertester_supervision_tests_nobody))
    after
        stop_sup(Sup)
    end.

active_child_count_test() ->
    with_sup(sup_args(one_for_one),
             fun(Sup) ->
                     ?assertEqual(3, supertester_supervision:get_active_child_count(Sup)),
                     ok = supervisor:terminate_child(Sup, b),
                     ?assertEqual(2, supertester_supervision:get_active_child_count(Sup)),
                     {ok, _} = supervisor:start_child(Sup, trace_fixture_sup:child(d, #{})),
                     ?assertEqual(3, supertester_supervision:get_active_child_count(Sup)),
                     ?BADARG(supertester_supervision:get_active_child_count(
                               supertester_supervision_tests_nobody))
             end).

%% ------------------------------------------------------------ supertester_otp waits

registered_args(Strategy) ->
    #{strategy => Strategy, intensity => 10, period => 5,
      children => [trace_fixture_sup:child(Id, #{name => Name})
                   || {Id, Name} <- [{a, st_sv_reg_a}, {b, st_sv_reg_b}, {c, st_sv_reg_c}]]}.

wait_for_process_restart_test() ->
    with_sup(registered_args(one_for_one),
             fun(_Sup) ->
                     Old = whereis(st_sv_reg_b),
                     exit(Old, kill),
                     {ok, New} = supertester_otp:wait_for_process_restart(st_sv_reg_b, Old, 5000),
                     ?assertNotEqual(Old, New),
                     ?assertEqual(New, whereis(st_sv_reg_b)),
                     ?assertEqual({pong, New}, trace_fixture_server:ping(st_sv_reg_b)),
                     %% Again, with the default timeout.
                     exit(New, kill),
                     {ok, Newer} = supertester_otp:wait_for_process_restart(st_sv_reg_b, New),
                     ?assertNotEqual(New, Newer),
                     ?assertEqual(Newer, whereis(st_sv_reg_b))
             end).

wait_for_process_restart_times_out_without_a_supervisor_test() ->
    {ok, Pid} = gen_server:start({local, st_sv_unsupervised}, trace_fixture_server, #{}, []),
    exit(Pid, kill),
    ?assertEqual({error, timeout},
                 supertester_otp:wait_for_process_restart(st_sv_unsupervised, Pid, 50)),
    ?assertEqual(undefined, whereis(st_sv_unsupervised)).

wait_for_supervisor_restart_test() ->
    with_sup(sup_args(one_for_all),
             fun(Sup) ->
                     Before = children(Sup),
                     exit(pid_of(Sup, a), kill),
                     ?assertEqual({ok, Sup}, supertester_otp:wait_for_supervisor_restart(Sup, 5000)),
                     After = children(Sup),
                     ?assert(all_alive([P || {_, P} <- After])),
                     ?assertEqual([], [P || {_, P} <- After, lists:keymember(P, 2, Before)]),
                     exit(pid_of(Sup, c), kill),
                     ?assertEqual({ok, Sup}, supertester_otp:wait_for_supervisor_restart(Sup)),
                     ?assert(all_alive([P || {_, P} <- children(Sup)]))
             end).

wait_for_supervisor_restart_by_name_test() ->
    Name = supertester_supervision_tests_restart,
    Sup = start_sup(Name, sup_args(rest_for_one)),
    try
        B = pid_of(Sup, b),
        exit(B, kill),
        ?assertEqual({ok, Sup}, supertester_otp:wait_for_supervisor_restart(Name, 5000)),
        ?assertNotEqual(B, pid_of(Sup, b)),
        ?assert(is_process_alive(pid_of(Sup, b)))
    after
        stop_sup(Sup)
    end.
