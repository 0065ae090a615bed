%% supertester_isolation, supertester_otp and supertester_genserver from
%% Erlang, the way EUnit and Common Test suites use them.
-module(supertester_isolation_tests).

-include_lib("eunit/include/eunit.hrl").

-define(BADARG(Expr), ?assertError({badarg, #{argument := _}}, Expr)).

%% A fixture: every test gets the context as its current one.
fixture_test_() ->
    supertester_isolation:fixture(
      full_isolation,
      [fun(Ctx) ->
               {ok, Pid} = supertester_otp:setup_isolated_genserver(st_test_server),
               ?assertEqual(ok, supertester_genserver:cast_and_sync(Pid, work)),
               ?assert(lists:keymember(Pid, 2, supertester_isolation:tracked(Ctx)))
       end,
       fun(#{registry := Registry}) ->
               %% The per-test registry answers via names.
               Name = {via, supertester_registry, {Registry, server}},
               {ok, Pid} = supertester_otp:setup_isolated_genserver(st_test_server, "", [{name, Name}]),
               ?assertEqual(Pid, supertester_registry:whereis_name({Registry, server})),
               ?assertEqual(ok, st_test_server:sync(Name))
       end]).

with_stops_everything_in_lifo_order_test() ->
    Self = self(),
    {Servers, Table} =
        supertester_isolation:with(basic, fun(Ctx) ->
            {ok, A} = supertester_otp:setup_isolated_genserver(st_test_server),
            {ok, Sup} = supertester_otp:setup_isolated_supervisor(st_test_sup, "", [{init_args, one_for_all}]),
            T = ets:new(t, [public]),
            ok = supertester_isolation:track_ets(Ctx, T),
            ok = supertester_isolation:add_cleanup(Ctx, fun() -> Self ! {cleanup, ets:info(T, size)} end),
            ok = supertester_otp:cleanup_on_exit(fun() -> Self ! last_added_runs_first end),
            {[A, Sup | [P || {_, P, _, _} <- supervisor:which_children(Sup)]], T}
        end),
    ?assertEqual([], [P || P <- Servers, is_process_alive(P)]),
    ?assertEqual(undefined, ets:info(Table)),
    ?assertEqual(last_added_runs_first, receive M1 -> M1 after 0 -> none end),
    ?assertEqual({cleanup, 0}, receive M2 -> M2 after 0 -> none end),
    ?assertEqual(undefined, supertester_isolation:current()).

teardown_twice_is_harmless_test() ->
    Ctx = supertester_isolation:setup(basic, #{auto_teardown => false}),
    {ok, Pid} = supertester_otp:setup_isolated_genserver(st_test_server),
    ?assertEqual(ok, supertester_isolation:teardown(Ctx)),
    ?assertEqual(ok, supertester_isolation:teardown(Ctx)),
    ?assertNot(is_process_alive(Pid)),
    ?assertEqual({error, closed}, supertester_isolation:track_ets(Ctx, ets:new(t, []))).

%% Without setup, the helpers make a context for the calling process, and
%% the janitor cleans it up when that process exits.
janitor_cleans_up_after_a_process_without_teardown_test() ->
    [begin
         Self = self(),
         Owner = spawn(fun() ->
                               {ok, Pid} = supertester_otp:setup_isolated_genserver(st_test_server),
                               Self ! {started, Pid},
                               %% The test watches the server before this
                               %% process ends (else it may see noproc).
                               receive go -> End() end
                       end),
         Server = receive {started, P} -> P end,
         Mon = monitor(process, Server),
         Owner ! go,
         receive {'DOWN', Mon, process, Server, Reason} -> ?assertEqual(shutdown, Reason) end
     end || End <- [fun() -> ok end,                  % the test returns
                    fun() -> error(test_crashed) end, % the test crashes
                    fun() -> exit(kill) end]].        % the test is killed

%% Names are reused once their holder is dead: a thousand servers started
%% and stopped one after the other make one atom.
names_stay_bounded_test() ->
    Pool = st_bounded_pool_test_server,
    Names = [begin
                 {Name, Slot} = supertester_nif:iso_name_acquire(Pool),
                 ok = supertester_nif:iso_name_release(Pool, Slot),
                 Name
             end || _ <- lists:seq(1, 1000)],
    ?assertEqual(['st_bounded_pool_test_server#0'], lists:usort(Names)),
    supertester_isolation:with(basic, fun(_) ->
        Started = [begin
                       {ok, S} = supertester_otp:setup_isolated_genserver(st_test_server),
                       {registered_name, N} = process_info(S, registered_name),
                       ok = gen_server:stop(S),
                       N
                   end || _ <- lists:seq(1, 200)],
        ?assert(length(lists:usort(Started)) =< 2)
    end).

%% Many tests at once, each with its own context and a server of the same
%% module: no name is ever taken twice, and everything is freed.
concurrent_contexts_test() ->
    Self = self(),
    Workers = [spawn_link(fun() ->
                                  Names = supertester_isolation:with(full_isolation, fun(_) ->
                                      {ok, S} = supertester_otp:setup_isolated_genserver(st_test_server),
                                      {registered_name, N} = process_info(S, registered_name),
                                      Self ! {running, self(), N},
                                      receive go -> ok end,
                                      ok = st_test_server:sync(N),
                                      N
                                  end),
                                  Self ! {done, self(), Names}
                          end) || _ <- lists:seq(1, 50)],
    Running = [receive {running, W, N} -> N end || W <- Workers],
    ?assertEqual(50, length(lists:usort(Running))),
    [W ! go || W <- Workers],
    [receive {done, W, _} -> ok end || W <- Workers],
    ?assertEqual([], [N || N <- Running, whereis(N) =/= undefined]).

inherited_context_test() ->
    supertester_isolation:with(basic, fun(Ctx) ->
        Self = self(),
        %% proc_lib sets $ancestors: the helper process works for this test.
        proc_lib:spawn(fun() -> Self ! {started, supertester_otp:setup_isolated_genserver(st_test_server)} end),
        {ok, Pid} = receive {started, R} -> R end,
        ?assert(lists:keymember(Pid, 2, supertester_isolation:tracked(Ctx)))
    end).

contamination_report_test() ->
    Ctx = supertester_isolation:setup(contamination_detection,
                                      #{auto_teardown => false, contamination => report}),
    {ok, Leaked} = st_test_server:start(),
    true = register(st_leaked_test_server, Leaked),
    Table = ets:new(st_leaked_table, [named_table, public]),
    {ok, Tracked} = supertester_otp:setup_isolated_genserver(st_test_server),
    {leaked, #{processes := Ps, ets := Ts, names := Ns} = Leaks} = supertester_isolation:teardown(Ctx),
    ?assertMatch([#{pid := Leaked, initial_call := {st_test_server, init, 1},
                    name := st_leaked_test_server}], Ps),
    ?assertMatch([#{id := Table, name := st_leaked_table}], Ts),
    ?assertMatch([#{name := st_leaked_test_server, pid := Leaked}], Ns),
    Text = binary_to_list(supertester_isolation:format_leaks(Leaks)),
    ?assertNotEqual(nomatch, string:find(Text, "st_test_server:init/1")),
    ?assertNot(is_process_alive(Tracked)),
    ?assertNot(is_process_alive(Leaked)).

contamination_fail_raises_test() ->
    Ctx = supertester_isolation:setup(contamination_detection,
                                      #{auto_teardown => false, contamination => fail}),
    {ok, _Leaked} = st_test_server:start(),
    ?assertError({assertion_failed, #{assertion := contamination_detection}},
                 supertester_isolation:teardown(Ctx)).

otp_helpers_test() ->
    supertester_isolation:with(basic, fun(_) ->
        {ok, Pid} = supertester_otp:setup_isolated_genserver(st_test_server, "otp", [{init_args, []}]),
        ?assertEqual(ok, supertester_otp:wait_for_genserver_sync(Pid, 1000)),
        {ok, Sup} = supertester_otp:setup_isolated_supervisor(st_test_sup, "otp", [{init_args, rest_for_one}]),
        ?assertEqual({ok, #{strategy => rest_for_one, intensity => 3, period => 5}}, supertester_sup:flags(Sup)),
        [{_, Child, _, _} | _] = supervisor:which_children(Sup),
        exit(Child, kill),
        ?assertEqual({ok, Sup}, supertester_otp:wait_for_supervisor_restart(Sup, 2000)),
        {ok, #{recovered := Recovered}} = supertester_genserver:test_server_crash_recovery(Pid, boom),
        ?assertNot(Recovered)
    end).

bad_input_test() ->
    ?BADARG(supertester_isolation:setup(everything)),
    ?BADARG(supertester_isolation:setup(basic, #{contamination => loud})),
    supertester_isolation:with(basic, fun(_) ->
        ?BADARG(supertester_otp:setup_isolated_genserver(lists)),
        ?BADARG(supertester_otp:setup_isolated_genserver(st_test_server, "", [{initial_state, x}])),
        ?BADARG(supertester_otp:wait_for_genserver_sync(self(), -1)),
        ?BADARG(supertester_genserver:cast_and_sync("not a server", msg))
    end).
