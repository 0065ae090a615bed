%% supertester_crash (LetItCrash for Erlang) against real supervisors whose
%% children register local names (trace_fixture_sup, trace_fixture_server).
%%
%% Each test uses its own registered names: the module remembers crashed
%% names in the caller's process dictionary.
-module(supertester_crash_tests).

-include_lib("eunit/include/eunit.hrl").

-define(BADARG(Expr), ?assertError({badarg, #{argument := _}}, Expr)).

%% ------------------------------------------------------------ helpers

%% A supervisor of three registered children, unlinked from the test.
start_sup(Strategy, Names, ServerOpts) ->
    Args = #{strategy => Strategy, intensity => 10, period => 5,
             children => [trace_fixture_sup:child(Name, ServerOpts#{name => Name})
                          || Name <- Names]},
    {ok, Sup} = supervisor:start_link(trace_fixture_sup, Args),
    true = unlink(Sup),
    Sup.

stop_sup(Sup) ->
    Mon = erlang:monitor(process, Sup),
    catch gen_server:stop(Sup, shutdown, 5000),
    receive {'DOWN', Mon, process, Sup, _} -> ok end.

with_sup(Strategy, Names, Test) ->
    with_sup(Strategy, Names, #{}, Test).

with_sup(Strategy, Names, ServerOpts, Test) ->
    Sup = start_sup(Strategy, Names, ServerOpts),
    try Test(Sup)
    after stop_sup(Sup)
    end.

%% An unsupervised server, optionally registered.
start_server(Opts) ->
    {ok, Pid} = trace_fixture_server:start(Opts),
    Pid.

stop(Pid) ->
    Mon = erlang:monitor(process, Pid),
    exit(Pid, kill),
    receive {'DOWN', Mon, process, Pid, _} -> ok end.

alive(Name) ->
    case whereis(Name) of
        undefined -> false;
        Pid -> is_process_alive(Pid)
    end.

%% ------------------------------------------------------------ crash

crash_pid_with_shutdown_by_default_test() ->
    Pid = start_server(#{}),
    Mon = erlang:monitor(process, Pid),
    ?assertEqual(ok, supertester_crash:crash(Pid)),
    ?assertEqual(shutdown, receive {'DOWN', Mon, process, Pid, R} -> R end).

crash_by_name_test() ->
    Pid = start_server(#{name => st_cr_by_name}),
    Mon = erlang:monitor(process, Pid),
    ?assertEqual(ok, supertester_crash:crash(st_cr_by_name)),
    ?assertEqual(shutdown, receive {'DOWN', Mon, process, Pid, R} -> R end),
    ?assertEqual(undefined, whereis(st_cr_by_name)).

crash_with_a_reason_test() ->
    Pid = start_server(#{}),
    Mon = erlang:monitor(process, Pid),
    ?assertEqual(ok, supertester_crash:crash(Pid, {custom, reason})),
    ?assertEqual({custom, reason}, receive {'DOWN', Mon, process, Pid, R} -> R end).

%% A process that traps exits takes `shutdown' as a message; `kill' kills it.
crash_a_trapping_process_test() ->
    Pid = start_server(#{trap_exit => true}),
    Mon = erlang:monitor(process, Pid),
    ?assertEqual(ok, supertester_crash:crash(Pid)),
    Self = self(),
    ?assertEqual([{'EXIT', Self, shutdown}], trace_fixture_server:trapped_exits(Pid)),
    ?assert(is_process_alive(Pid)),
    ?assertEqual(ok, supertester_crash:crash(Pid, kill)),
    ?assertEqual(killed, receive {'DOWN', Mon, process, Pid, R} -> R end).

crash_unknown_test() ->
    ?assertEqual({error, not_found}, supertester_crash:crash(st_cr_nobody)),
    ?assertEqual({error, not_found}, supertester_crash:crash(st_cr_nobody, kill)),
    ?assertEqual({error, {not_a_process, "pid"}}, supertester_crash:crash("pid")).

%% ------------------------------------------------------------ recovered?

recovered_after_crash_under_a_supervisor_test() ->
    with_sup(one_for_one, [st_cr_rec_a, st_cr_rec_b],
             fun(_Sup) ->
                     Old = whereis(st_cr_rec_a),
                     Other = whereis(st_cr_rec_b),
                     ok = supertester_crash:crash(st_cr_rec_a),
                     %% The original is the one crashed under that name.
                     ?assert(supertester_crash:'recovered?'(st_cr_rec_a)),
                     New = whereis(st_cr_rec_a),
                     ?assertNotEqual(Old, New),
                     ?assert(is_process_alive(New)),
                     ?assertNot(is_process_alive(Old)),
                     ?assertEqual(Other, whereis(st_cr_rec_b)),
                     %% With the original given, and with options.
                     ?assert(supertester_crash:'recovered?'(st_cr_rec_a, Old)),
                     ?assert(supertester_crash:'recovered?'(st_cr_rec_a, Old, [{timeout, 2000}])),
                     ?assert(supertester_crash:'recovered?'(st_cr_rec_a, [{timeout, 2000}, {interval, 10}])),
                     %% Compared with the current pid, nothing recovered.
                     ?assertNot(supertester_crash:'recovered?'(st_cr_rec_a, New, [{timeout, 50}]))
             end).

recovered_by_kill_and_pid_test() ->
    with_sup(rest_for_one, [st_cr_kill_a, st_cr_kill_b], #{trap_exit => true},
             fun(_Sup) ->
                     Old = whereis(st_cr_kill_a),
                     OldB = whereis(st_cr_kill_b),
                     ok = supertester_crash:crash(Old, kill),
                     ?assert(supertester_crash:'recovered?'(st_cr_kill_a, Old)),
                     ?assert(supertester_crash:'recovered?'(st_cr_kill_b, OldB)),
                     ?assertNotEqual(OldB, whereis(st_cr_kill_b))
             end).

%% start_tracking/0 remembers the pids of now, for 'recovered?'/1.
recovered_with_tracking_test() ->
    with_sup(one_for_one, [st_cr_track_a],
             fun(_Sup) ->
                     Old = whereis(st_cr_track_a),
                     ?assertEqual(ok, supertester_crash:start_tracking()),
                     %% Killed behind the module's back: only tracking knows
                     %% the original.
                     exit(Old, kill),
                     ?assert(supertester_crash:'recovered?'(st_cr_track_a)),
                     ?assertNotEqual(Old, whereis(st_cr_track_a))
             end).

not_recovered_without_a_supervisor_test() ->
    Pid = start_server(#{name => st_cr_alone}),
    Mon = erlang:monitor(process, Pid),
    ok = supertester_crash:crash(st_cr_alone, kill),
    receive {'DOWN', Mon, process, Pid, killed} -> ok end,
    ?assertNot(supertester_crash:'recovered?'(st_cr_alone, [{timeout, 50}])),
    ?assertNot(supertester_crash:'recovered?'(st_cr_alone, Pid, [{timeout, 50}])).

not_recovered_when_not_crashed_test() ->
    Pid = start_server(#{name => st_cr_untouched}),
    ?assertNot(supertester_crash:'recovered?'(st_cr_untouched, [{timeout, 50}])),
    ?assertEqual(Pid, whereis(st_cr_untouched)),
    stop(Pid).

recovered_bad_options_test() ->
    ?BADARG(supertester_crash:'recovered?'(st_cr_nobody, [{timeout, -1}])),
    ?BADARG(supertester_crash:'recovered?'(st_cr_nobody, [{poll, 1}])),
    ?BADARG(supertester_crash:'recovered?'(st_cr_nobody, [{interval, fast}])).

%% ------------------------------------------------------------ wait_for_process / wait_for_exit

wait_for_process_test() ->
    Pid = start_server(#{name => st_cr_wait_present}),
    ?assertEqual(ok, supertester_crash:wait_for_process(st_cr_wait_present)),
    ?assertEqual(ok, supertester_crash:wait_for_process(st_cr_wait_present, [{timeout, 50}])),
    stop(Pid),
    ?assertEqual({error, timeout},
                 supertester_crash:wait_for_process(st_cr_wait_absent, [{timeout, 50}])).

%% After a crash, waiting for the name waits for the replacement.
wait_for_process_after_crash_test() ->
    with_sup(one_for_one, [st_cr_wait_sup],
             fun(_Sup) ->
                     Old = whereis(st_cr_wait_sup),
                     ok = supertester_crash:crash(st_cr_wait_sup, kill),
                     ?assertEqual(ok, supertester_crash:wait_for_process(st_cr_wait_sup, [{timeout, 5000}])),
                     New = whereis(st_cr_wait_sup),
                     ?assert(is_pid(New) andalso New =/= Old),
                     ?assertEqual({pong, New}, trace_fixture_server:ping(st_cr_wait_sup))
             end).

wait_for_exit_of_a_dead_process_test() ->
    {Pid, Mon} = spawn_monitor(fun() -> ok end),
    receive {'DOWN', Mon, process, Pid, normal} -> ok end,
    ?assertEqual(ok, supertester_crash:wait_for_exit(Pid)).

wait_for_exit_of_a_dying_process_test() ->
    Pid = start_server(#{}),
    ok = supertester_crash:crash(Pid),
    ?assertEqual(ok, supertester_crash:wait_for_exit(Pid, [{timeout, 5000}])),
    ?assertNot(is_process_alive(Pid)),
    %% One that exits by itself once asked.
    Quitter = spawn(fun() -> receive quit -> ok end end),
    Quitter ! quit,
    ?assertEqual(ok, supertester_crash:wait_for_exit(Quitter)),
    ?assertNot(is_process_alive(Quitter)).

wait_for_exit_of_a_live_process_times_out_test() ->
    Pid = start_server(#{}),
    ?assertEqual({error, timeout}, supertester_crash:wait_for_exit(Pid, [{timeout, 50}])),
    ?assert(is_process_alive(Pid)),
    %% No monitor message is left behind.
    ?assertEqual(none, receive {'DOWN', _, process, Pid, _} = D -> D after 0 -> none end),
    stop(Pid),
    ?BADARG(supertester_crash:wait_for_exit(not_a_pid)),
    ?BADARG(supertester_crash:wait_for_exit(self(), [{timeout, soon}])).

%% ------------------------------------------------------------ test_restart

test_restart_by_name_test() ->
    with_sup(one_for_one, [st_cr_tr_name, st_cr_tr_other],
             fun(_Sup) ->
                     Self = self(),
                     Old = whereis(st_cr_tr_name),
                     Other = whereis(st_cr_tr_other),
                     Fun = fun() -> Self ! {ran, trace_fixture_server:ping(st_cr_tr_name)} end,
                     ?assertEqual(ok, supertester_crash:test_restart(st_cr_tr_name, Fun)),
                     First = receive {ran, R1} -> R1 end,
                     Second = receive {ran, R2} -> R2 end,
                     ?assertEqual({pong, Old}, First),
                     New = whereis(st_cr_tr_name),
                     ?assertEqual({pong, New}, Second),
                     ?assertNotEqual(Old, New),
                     %% Exactly twice.
                     ?assertEqual(none, receive {ran, _} = M -> M after 0 -> none end),
                     ?assertEqual(Other, whereis(st_cr_tr_other))
             end).

%% By pid, for a child without a name: the replacement is found as the
%% same child of the supervisor. Trapping exits does not save it.
test_restart_by_pid_test() ->
    Args = #{strategy => one_for_one,
             children => [trace_fixture_sup:child(anon, #{trap_exit => true})]},
    {ok, Sup} = supervisor:start_link(trace_fixture_sup, Args),
    true = unlink(Sup),
    try
        [{anon, Old, _, _}] = supervisor:which_children(Sup),
        Counter = ets:new(st_cr_counter, [public]),
        Fun = fun() -> ets:update_counter(Counter, runs, 1, {runs, 0}) end,
        ?assertEqual(ok, supertester_crash:test_restart(Old, Fun, [{timeout, 5000}])),
        ?assertEqual([{runs, 2}], ets:lookup(Counter, runs)),
        [{anon, New, _, _}] = supervisor:which_children(Sup),
        ?assertNotEqual(Old, New),
        ?assertNot(is_process_alive(Old)),
        ?assert(is_process_alive(New)),
        ets:delete(Counter)
    after
        stop_sup(Sup)
    end.

test_restart_of_an_unsupervised_process_test() ->
    Self = self(),
    Pid = start_server(#{name => st_cr_tr_alone}),
    Fun = fun() -> Self ! ran end,
    ?assertMatch({error, _}, supertester_crash:test_restart(st_cr_tr_alone, Fun, [{timeout, 50}])),
    %% It ran before the crash only.
    ?assertEqual(ran, receive ran -> ran end),
    ?assertEqual(none, receive ran -> again after 0 -> none end),
    ?assertNot(is_process_alive(Pid)),
    ?assertEqual({error, not_found}, supertester_crash:test_restart(st_cr_tr_alone, Fun)),
    ?assertEqual(none, receive ran -> again after 0 -> none end),
    ?BADARG(supertester_crash:test_restart(st_cr_tr_alone, not_a_fun)).

%% The process that spawned a server is not necessarily its supervisor:
%% test_restart must not treat a plain gen_server parent as one (asking it
%% for which_children crashes it).
test_restart_leaves_a_non_supervisor_parent_alone_test() ->
    Parent = start_server(#{}),
    {ok, Target} = trace_fixture_server:start_other(Parent, #{name => st_cr_tr_orphan}),
    Mon = erlang:monitor(process, Parent),
    try
        ?assertMatch({error, _}, supertester_crash:test_restart(st_cr_tr_orphan, fun() -> ok end,
                                                               [{timeout, 50}])),
        ?assertNot(is_process_alive(Target)),
        ?assertEqual(none, receive {'DOWN', Mon, process, Parent, R} -> R after 0 -> none end),
        ?assertEqual({pong, Parent}, trace_fixture_server:ping(Parent))
    after
        erlang:demonitor(Mon, [flush]),
        stop(Parent),
        stop(Target)
    end.

%% ... nor a plain process parent, which never answers a call: the call
%% must still end within its timeout (else EUnit's 5 s timeout fails it).
test_restart_with_a_plain_parent_returns_test_() ->
    {setup,
     fun() ->
             Self = self(),
             Parent = spawn(fun() ->
                                    {ok, T} = trace_fixture_server:start(#{name => st_cr_tr_plain}),
                                    Self ! {started, T},
                                    receive stop -> ok end
                            end),
             Target = receive {started, T} -> T end,
             {Parent, Target}
     end,
     fun({Parent, Target}) -> stop(Parent), stop(Target) end,
     fun({Parent, Target}) ->
             ?_test(begin
                        ?assertMatch({error, _},
                                     supertester_crash:test_restart(st_cr_tr_plain, fun() -> ok end,
                                                                    [{timeout, 50}])),
                        ?assertNot(is_process_alive(Target)),
                        ?assert(is_process_alive(Parent))
                    end)
     end}.

%% What the test function raises propagates.
test_restart_propagates_failures_test() ->
    with_sup(one_for_one, [st_cr_tr_raise],
             fun(_Sup) ->
                     Old = whereis(st_cr_tr_raise),
                     ?assertError(failed_check,
                                  supertester_crash:test_restart(st_cr_tr_raise,
                                                                 fun() -> error(failed_check) end)),
                     %% It raised before the crash: nothing was killed.
                     ?assertEqual(Old, whereis(st_cr_tr_raise))
             end).

%% ------------------------------------------------------------ verify_ets_cleanup

%% A supervised server that creates the named table in its init.
ets_sup(Name, Table, Key) ->
    Args = #{strategy => one_for_one,
             children => [trace_fixture_sup:child(Name, #{name => Name, ets => {Table, Key}})]},
    {ok, Sup} = supervisor:start_link(trace_fixture_sup, Args),
    true = unlink(Sup),
    Sup.

verify_ets_cleanup_default_test() ->
    Sup = ets_sup(st_cr_ets_owner1, st_cr_ets_tab1, key1),
    try
        Old = whereis(st_cr_ets_owner1),
        ?assertEqual([{key1, Old}], ets:lookup(st_cr_ets_tab1, key1)),
        ok = supertester_crash:crash(st_cr_ets_owner1),
        ?assertEqual(ok, supertester_crash:verify_ets_cleanup(st_cr_ets_tab1, key1))
    after
        stop_sup(Sup)
    end.

verify_ets_cleanup_recreated_test() ->
    Sup = ets_sup(st_cr_ets_owner2, st_cr_ets_tab2, key2),
    try
        Old = whereis(st_cr_ets_owner2),
        ok = supertester_crash:crash(st_cr_ets_owner2),
        ?assertEqual(ok, supertester_crash:verify_ets_cleanup(
                           st_cr_ets_tab2, key2, [{expect_recreate, true}, {timeout, 5000}])),
        New = whereis(st_cr_ets_owner2),
        ?assertNotEqual(Old, New),
        ?assertEqual([{key2, New}], ets:lookup(st_cr_ets_tab2, key2)),
        ?assertEqual(New, ets:info(st_cr_ets_tab2, owner))
    after
        stop_sup(Sup)
    end.

%% The same, asked only once the owner is known to be back.
verify_ets_cleanup_recreated_after_recovery_test() ->
    Sup = ets_sup(st_cr_ets_owner3, st_cr_ets_tab3, key3),
    try
        ok = supertester_crash:crash(st_cr_ets_owner3),
        true = supertester_crash:'recovered?'(st_cr_ets_owner3, [{timeout, 5000}]),
        ?assertEqual(ok, supertester_crash:verify_ets_cleanup(
                           st_cr_ets_tab3, key3, [{expect_recreate, true}, {timeout, 500}]))
    after
        stop_sup(Sup)
    end.

verify_ets_cleanup_of_a_remaining_entry_test() ->
    Table = ets:new(st_cr_ets_mine, [named_table, public]),
    true = ets:insert(Table, {stays, 1}),
    ?assertEqual({error, {not_cleaned_up, st_cr_ets_mine, stays}},
                 supertester_crash:verify_ets_cleanup(st_cr_ets_mine, stays, [{timeout, 50}])),
    %% expect_cleanup false: the entry is expected to stay.
    ?assertEqual(ok, supertester_crash:verify_ets_cleanup(st_cr_ets_mine, stays,
                                                           [{expect_cleanup, false}])),
    ?assertMatch({error, {entry_missing, st_cr_ets_mine, absent}},
                 supertester_crash:verify_ets_cleanup(st_cr_ets_mine, absent,
                                                      [{expect_cleanup, false}])),
    %% An entry that is not there counts as cleaned up, by name or by tid.
    ?assertEqual(ok, supertester_crash:verify_ets_cleanup(st_cr_ets_mine, absent)),
    Tid = ets:new(st_cr_ets_anon, [public]),
    true = ets:insert(Tid, {here, 1}),
    ?assertMatch({error, {not_cleaned_up, _, here}},
                 supertester_crash:verify_ets_cleanup(Tid, here, [{timeout, 50}])),
    ?assertEqual(ok, supertester_crash:verify_ets_cleanup(Tid, gone, [{timeout, 50}])),
    ets:delete(Tid),
    ets:delete(Table),
    %% A table that is gone counts as cleaned up.
    ?assertEqual(ok, supertester_crash:verify_ets_cleanup(st_cr_ets_mine, stays, [{timeout, 50}])),
    ?BADARG(supertester_crash:verify_ets_cleanup(st_cr_ets_mine, stays, [{cleanup, false}])).

%% An entry deleted by another process while we wait is seen.
verify_ets_cleanup_sees_a_later_delete_test() ->
    Table = ets:new(st_cr_ets_later, [named_table, public]),
    true = ets:insert(Table, {k, 1}),
    Deleter = spawn(fun() -> receive go -> ets:delete(st_cr_ets_later, k) end end),
    Deleter ! go,
    ?assertEqual(ok, supertester_crash:verify_ets_cleanup(st_cr_ets_later, k, [{timeout, 5000}])),
    ?assertEqual([], ets:lookup(Table, k)),
    ets:delete(Table).

%% ------------------------------------------------------------ assert_supervision_impact

impact_one_for_one_test() ->
    with_sup(one_for_one, [st_cr_i1_a, st_cr_i1_b, st_cr_i1_c],
             fun(Sup) ->
                     Before = [whereis(N) || N <- [st_cr_i1_a, st_cr_i1_b, st_cr_i1_c]],
                     ?assertEqual(ok, supertester_crash:assert_supervision_impact(
                                        Sup, st_cr_i1_b,
                                        [{expect, [{st_cr_i1_a, alive}, {st_cr_i1_b, restarted},
                                                   {st_cr_i1_c, alive}]}])),
                     [A, B, C] = Before,
                     ?assertEqual(A, whereis(st_cr_i1_a)),
                     ?assertEqual(C, whereis(st_cr_i1_c)),
                     ?assertNotEqual(B, whereis(st_cr_i1_b)),
                     ?assert(alive(st_cr_i1_b))
             end).

impact_one_for_all_test() ->
    with_sup(one_for_all, [st_cr_i2_a, st_cr_i2_b, st_cr_i2_c],
             fun(Sup) ->
                     Before = [whereis(N) || N <- [st_cr_i2_a, st_cr_i2_b, st_cr_i2_c]],
                     ?assertEqual(ok, supertester_crash:assert_supervision_impact(
                                        Sup, st_cr_i2_a,
                                        [{expect, [{st_cr_i2_a, restarted}, {st_cr_i2_b, restarted},
                                                   {st_cr_i2_c, restarted}]},
                                         {signal, kill}])),
                     After = [whereis(N) || N <- [st_cr_i2_a, st_cr_i2_b, st_cr_i2_c]],
                     ?assertEqual([], [P || P <- After, lists:member(P, Before)]),
                     ?assert(lists:all(fun erlang:is_process_alive/1, After))
             end).

impact_rest_for_one_test() ->
    with_sup(rest_for_one, [st_cr_i3_a, st_cr_i3_b, st_cr_i3_c],
             fun(Sup) ->
                     A = whereis(st_cr_i3_a),
                     ?assertEqual(ok, supertester_crash:assert_supervision_impact(
                                        Sup, st_cr_i3_b,
                                        #{expect => [{st_cr_i3_a, alive}, {st_cr_i3_b, restarted},
                                                     {st_cr_i3_c, restarted}]})),
                     ?assertEqual(A, whereis(st_cr_i3_a))
             end).

impact_mismatch_test() ->
    with_sup(one_for_one, [st_cr_i4_a, st_cr_i4_b, st_cr_i4_c],
             fun(Sup) ->
                     Self = self(),
                     A = whereis(st_cr_i4_a),
                     B = whereis(st_cr_i4_b),
                     Result = supertester_crash:assert_supervision_impact(
                                Sup, st_cr_i4_b,
                                [{expect, [{st_cr_i4_a, {stopped, fun() -> Self ! {ran, a} end}},
                                           {st_cr_i4_b, {alive, fun() -> Self ! {ran, b} end}},
                                           {st_cr_i4_c, {alive, fun() -> Self ! {ran, c} end}}]}]),
                     ?assertMatch({error, {unexpected_impact, _}}, Result),
                     {error, {unexpected_impact, Report}} = Result,
                     ?assertEqual([st_cr_i4_a, st_cr_i4_b], lists:sort(maps:keys(Report))),
                     ?assertMatch(#{expected := stopped, seen := alive, before := A, now := A},
                                  maps:get(st_cr_i4_a, Report)),
                     #{expected := alive, seen := restarted, before := B, now := NewB} =
                         maps:get(st_cr_i4_b, Report),
                     ?assertEqual(NewB, whereis(st_cr_i4_b)),
                     ?assertNotEqual(B, NewB),
                     %% No assertion function ran for a status that did not
                     %% match.
                     ?assertEqual(none, receive {ran, a} -> a; {ran, b} -> b after 0 -> none end),
                     receive {ran, c} -> ok after 0 -> ok end,
                     %% The expected restart that never comes is reported
                     %% too (here with a short timeout).
                     C = whereis(st_cr_i4_c),
                     ?assertMatch({error, {unexpected_impact,
                                           #{st_cr_i4_c := #{expected := restarted, seen := alive,
                                                             before := C, now := C}}}},
                                  supertester_crash:assert_supervision_impact(
                                    Sup, st_cr_i4_a,
                                    [{expect, [{st_cr_i4_a, restarted}, {st_cr_i4_c, restarted}]},
                                     {timeout, 200}]))
             end).

impact_runs_functions_of_matched_statuses_test() ->
    with_sup(one_for_one, [st_cr_i5_a, st_cr_i5_b],
             fun(Sup) ->
                     Self = self(),
                     ?assertEqual(ok, supertester_crash:assert_supervision_impact(
                                        Sup, st_cr_i5_a,
                                        [{expect, [{st_cr_i5_a, {restarted, fun() ->
                                                                              Self ! {ran, a, trace_fixture_server:ping(st_cr_i5_a)}
                                                                      end}},
                                                   {st_cr_i5_b, {alive, fun() -> Self ! {ran, b} end}}]}])),
                     NewA = whereis(st_cr_i5_a),
                     %% The function ran after the status was confirmed: the
                     %% restarted process answered it.
                     ?assertEqual({ran, a, {pong, NewA}}, receive {ran, a, _} = M -> M end),
                     ?assertEqual({ran, b}, receive {ran, b} = M2 -> M2 end),
                     ?assertEqual(none, receive {ran, _} = M3 -> M3; {ran, _, _} = M4 -> M4
                                        after 0 -> none end),
                     %% A failing function propagates.
                     ?assertError(bad_state,
                                  supertester_crash:assert_supervision_impact(
                                    Sup, st_cr_i5_a,
                                    [{expect, [{st_cr_i5_b, {alive, fun() -> error(bad_state) end}}]}]))
             end).

%% A registered process that is not a child (and not restarted) reads as
%% stopped.
impact_stopped_test() ->
    Args = #{strategy => one_for_one,
             children => [trace_fixture_sup:child(st_cr_i6_tmp, #{name => st_cr_i6_tmp}, temporary),
                          trace_fixture_sup:child(st_cr_i6_p, #{name => st_cr_i6_p})]},
    {ok, Sup} = supervisor:start_link(trace_fixture_sup, Args),
    true = unlink(Sup),
    try
        ?assertEqual(ok, supertester_crash:assert_supervision_impact(
                           Sup, st_cr_i6_tmp,
                           [{expect, [{st_cr_i6_tmp, stopped}, {st_cr_i6_p, alive}]}])),
        ?assertEqual(undefined, whereis(st_cr_i6_tmp))
    after
        stop_sup(Sup)
    end.

impact_bad_arguments_test() ->
    with_sup(one_for_one, [st_cr_i7_a],
             fun(Sup) ->
                     A = whereis(st_cr_i7_a),
                     ?assertEqual({error, {not_found, st_cr_i7_nobody}},
                                  supertester_crash:assert_supervision_impact(
                                    Sup, st_cr_i7_nobody, [{expect, [{st_cr_i7_a, alive}]}])),
                     ?BADARG(supertester_crash:assert_supervision_impact(Sup, st_cr_i7_a, [])),
                     ?BADARG(supertester_crash:assert_supervision_impact(
                               Sup, st_cr_i7_a, [{expect, [{st_cr_i7_a, reborn}]}])),
                     ?BADARG(supertester_crash:assert_supervision_impact(
                               Sup, st_cr_i7_a, [{expect, st_cr_i7_a}])),
                     ?BADARG(supertester_crash:assert_supervision_impact(
                               st_cr_i7_no_sup, st_cr_i7_a, [{expect, [{st_cr_i7_a, alive}]}])),
                     %% Nothing was crashed by the refused calls.
                     ?assertEqual(A, whereis(st_cr_i7_a))
             end).
