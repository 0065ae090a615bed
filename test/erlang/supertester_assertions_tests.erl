%% supertester_assertions through its public API, on real processes: every
%% assertion passes once and fails once with a readable message, and bad
%% arguments are refused.
-module(supertester_assertions_tests).

-include_lib("eunit/include/eunit.hrl").

-import(st_test_lib, [failure_message/1]).

-define(A, supertester_assertions).
-define(BADARG(Expr), ?assertError({badarg, #{argument := _, expected := _}}, Expr)).
-define(FAILS(Assertion, Expr),
        ?assertError({assertion_failed, #{assertion := Assertion, message := _}}, Expr)).


has(Text, Part) ->
    string:find(Text, Part) =/= nomatch orelse error({not_in_message, Part, Text}).

dead_pid() ->
    {Pid, Mon} = spawn_monitor(fun() -> ok end),
    receive {'DOWN', Mon, process, Pid, _} -> Pid end.

%% Runs Fun(Sup) with a supervisor that is stopped afterwards.
with_sup(Strategy, Workers, Fun) ->
    {ok, Sup} = assertions_fixture_sup:start_link(Strategy, Workers),
    unlink(Sup),
    try Fun(Sup) after stop(Sup) end.

stop(Pid) ->
    Mon = erlang:monitor(process, Pid),
    exit(Pid, shutdown),
    receive {'DOWN', Mon, process, Pid, _} -> ok end.

server(State) ->
    {ok, Pid} = assertions_fixture_server:start(State),
    Pid.

%% Processes ------------------------------------------------------------------

process_alive_test() ->
    ?assertEqual(ok, ?A:assert_process_alive(self())),
    Dead = dead_pid(),
    Message = failure_message(fun() -> ?A:assert_process_alive(Dead) end),
    has(Message, pid_to_list(Dead)),
    has(Message, "to be alive, but it is dead"),
    ?BADARG(?A:assert_process_alive(not_a_pid)).

process_dead_test() ->
    ?assertEqual(ok, ?A:assert_process_dead(dead_pid())),
    Server = server(alive),
    Message = failure_message(fun() -> ?A:assert_process_dead(Server) end),
    has(Message, "to be dead, but it is alive"),
    has(Message, "initial call assertions_fixture_server:init/1"),
    %% Killed just before: the signal has arrived when the check is made.
    exit(Server, kill),
    ?assertEqual(ok, ?A:assert_process_dead(Server)),
    ?BADARG(?A:assert_process_dead(self, 10)),
    ?BADARG(?A:assert_process_dead(self(), -1)).

process_dead_waits_for_an_asynchronous_stop_test() ->
    Pid = spawn(fun() -> receive stop -> ok end end),
    Pid ! stop,
    ?assertEqual(ok, ?A:assert_process_dead(Pid, 1000)),
    Alive = spawn(fun() -> receive stop -> ok end end),
    has(failure_message(fun() -> ?A:assert_process_dead(Alive, 10) end),
        "to be dead, but it is alive after 10 ms"),
    Alive ! stop.

process_restarted_right_after_a_kill_test() ->
    with_sup(one_for_one, [assertions_worker_a], fun(_Sup) ->
        Original = whereis(assertions_worker_a),
        exit(Original, kill),
        ?assertEqual(ok, ?A:assert_process_restarted(assertions_worker_a, Original)),
        ?assertNotEqual(Original, whereis(assertions_worker_a))
    end).

process_restarted_fails_when_nothing_restarts_it_test() ->
    {ok, Pid} = gen_server:start({local, assertions_lonely}, assertions_fixture_server, x, []),
    ok = gen_server:stop(Pid),
    Message = failure_message(fun() -> ?A:assert_process_restarted(assertions_lonely, Pid, 50) end),
    has(Message, "Process assertions_lonely was not restarted within 50 ms"),
    has(Message, "nothing is registered as assertions_lonely").

process_restarted_fails_when_the_original_is_still_there_test() ->
    {ok, Pid} = gen_server:start({local, assertions_still}, assertions_fixture_server, x, []),
    Message = failure_message(fun() -> ?A:assert_process_restarted(assertions_still, Pid, 20) end),
    has(Message, "the same process " ++ pid_to_list(Pid) ++ " is still registered"),
    ok = gen_server:stop(Pid).

process_restarted_bad_arguments_test() ->
    ?BADARG(?A:assert_process_restarted(self(), self())),
    ?BADARG(?A:assert_process_restarted(name, not_a_pid)),
    ?BADARG(?A:assert_process_restarted(name, self(), -5)),
    ?BADARG(?A:assert_process_restarted("name", self())).

%% GenServers -----------------------------------------------------------------

genserver_state_test() ->
    S = server(#{count => 5, status => active}),
    ?assertEqual(ok, ?A:assert_genserver_state(S, #{count => 5, status => active})),
    ?assertEqual(ok, ?A:assert_genserver_state(S, fun(#{count := C}) -> C > 0 end)),
    Exact = failure_message(fun() -> ?A:assert_genserver_state(S, #{count => 6, status => active}) end),
    has(Exact, "does not match"),
    has(Exact, "Expected: #{count => 6,status => active}"),
    has(Exact, "Actual:   #{count => 5,status => active}"),
    has(Exact, "key count: expected 6, got 5"),
    Fun = failure_message(fun() -> ?A:assert_genserver_state(S, fun(#{count := C}) -> C > 10 end) end),
    has(Fun, "does not satisfy the given function (it returned false)"),
    has(Fun, "State: #{count => 5,status => active}"),
    stop(S).

genserver_state_scalars_and_unreadable_states_test() ->
    S = server(42),
    ?assertEqual(ok, ?A:assert_genserver_state(S, 42)),
    has(failure_message(fun() -> ?A:assert_genserver_state(S, 43) end), "Actual:   42"),
    stop(S),
    has(failure_message(fun() -> ?A:assert_genserver_state(S, 42) end),
        "Could not read the state of GenServer " ++ pid_to_list(S) ++ ": no process is running"),
    ?BADARG(?A:assert_genserver_state("server", 42)),
    ?BADARG(?A:assert_genserver_state(self(), fun(_, _) -> true end)).

genserver_responsive_test() ->
    S = server(x),
    ?assertEqual(ok, ?A:assert_genserver_responsive(S)),
    stop(S),
    has(failure_message(fun() -> ?A:assert_genserver_responsive(S) end), "is not responsive: no process"),
    ?BADARG(?A:assert_genserver_responsive(42)).

genserver_handles_message_test() ->
    S = server(7),
    ?assertEqual(ok, ?A:assert_genserver_handles_message(S, get, {ok, 7})),
    Message = failure_message(fun() -> ?A:assert_genserver_handles_message(S, get, {ok, 8}) end),
    has(Message, "replied to get with an unexpected reply"),
    has(Message, "Expected: {ok,8}"),
    has(Message, "Actual:   {ok,7}"),
    stop(S),
    has(failure_message(fun() -> ?A:assert_genserver_handles_message(S, get, {ok, 7}) end),
        "did not reply to get: no process is running"),
    ?BADARG(?A:assert_genserver_handles_message({bad}, get, ok)).

%% Supervisors ----------------------------------------------------------------

supervisor_strategy_test_() ->
    [{atom_to_list(Strategy),
      fun() ->
              with_sup(Strategy, [], fun(Sup) ->
                  ?assertEqual(ok, ?A:assert_supervisor_strategy(Sup, Strategy)),
                  Message = failure_message(fun() -> ?A:assert_supervisor_strategy(Sup, Wrong) end),
                  has(Message, "expected " ++ atom_to_list(Wrong) ++ ", supervisor uses "
                      ++ atom_to_list(Strategy))
              end)
      end}
     || {Strategy, Wrong} <- [{one_for_one, one_for_all}, {one_for_all, rest_for_one},
                              {rest_for_one, one_for_one}, {simple_one_for_one, one_for_one}]].

supervisor_strategy_of_something_else_test() ->
    S = server(x),
    has(failure_message(fun() -> ?A:assert_supervisor_strategy(S, one_for_one) end),
        "is not a supervisor: initial call assertions_fixture_server:init/1"),
    stop(S),
    has(failure_message(fun() -> ?A:assert_supervisor_strategy(S, one_for_one) end),
        "is not running"),
    has(failure_message(fun() -> ?A:assert_supervisor_strategy(assertions_nobody, one_for_one) end),
        "Supervisor assertions_nobody is not running: nothing is registered"),
    ?BADARG(?A:assert_supervisor_strategy(self(), one_for_some)),
    ?BADARG(?A:assert_supervisor_strategy(1, one_for_one)).

child_count_test() ->
    with_sup(one_for_one, [{a, none}, {b, none}, {c, none}], fun(Sup) ->
        ?assertEqual(ok, ?A:assert_child_count(Sup, 3)),
        ok = supervisor:terminate_child(Sup, b),
        ?assertEqual(ok, ?A:assert_child_count(Sup, 2)),
        Message = failure_message(fun() -> ?A:assert_child_count(Sup, 3) end),
        has(Message, "has 2 active children, expected 3"),
        has(Message, "(specs: 3, active: 2, workers: 3, supervisors: 0)"),
        ?BADARG(?A:assert_child_count(Sup, -1)),
        ?BADARG(?A:assert_child_count(Sup, three))
    end).

all_children_alive_test() ->
    with_sup(one_for_one, [{a, none}, {b, none}, {c, none}], fun(Sup) ->
        ?assertEqual(ok, ?A:assert_all_children_alive(Sup)),
        ok = supervisor:terminate_child(Sup, b),
        ok = supervisor:terminate_child(Sup, c),
        Message = failure_message(fun() -> ?A:assert_all_children_alive(Sup) end),
        has(Message, "2 of the 3 children of supervisor"),
        has(Message, "child b: not running (undefined)"),
        has(Message, "child c: not running (undefined)")
    end),
    with_sup(one_for_one, [], fun(Sup) -> ?assertEqual(ok, ?A:assert_all_children_alive(Sup)) end).

%% Leaks ----------------------------------------------------------------------

leaked_server_is_named_test() ->
    Self = self(),
    Message = failure_message(
                fun() ->
                        ?A:assert_no_process_leaks(
                          fun() ->
                                  {ok, P} = gen_server:start({local, assertions_leaked},
                                                             assertions_fixture_server, x, []),
                                  Self ! {leaked, P}
                          end)
                end),
    Leaked = receive {leaked, P} -> P end,
    has(Message, "Process leak: 1 process started during the operation is still alive"),
    has(Message, pid_to_list(Leaked) ++ ": initial call assertions_fixture_server:init/1, "
        "registered as assertions_leaked, waiting in gen_server:loop/7"),
    stop(Leaked).

stopped_and_finished_processes_are_not_leaks_test() ->
    ?assertEqual(ok, ?A:assert_no_process_leaks(
                       fun() ->
                               {ok, P} = gen_server:start_link(assertions_fixture_server, x, []),
                               ok = gen_server:stop(P),
                               %% Still running (or exiting) when the operation returns.
                               [spawn(fun() -> lists:seq(1, 1000) end) || _ <- lists:seq(1, 20)],
                               Self = self(),
                               spawn(fun() -> Self ! done end),
                               receive done -> ok end
                       end)).

leak_through_a_helper_that_exited_test() ->
    %% A proc_lib helper starts a server and exits: the server's parent is
    %% dead, but its $ancestors lead back here.
    Self = self(),
    Message = failure_message(
                fun() ->
                        ?A:assert_no_process_leaks(
                          fun() ->
                                  H = proc_lib:spawn(fun() -> Self ! {leaked, server(x)} end),
                                  M = erlang:monitor(process, H),
                                  receive {'DOWN', M, process, H, _} -> ok end
                          end)
                end),
    Leaked = receive {leaked, P} -> P end,
    has(Message, pid_to_list(Leaked)),
    stop(Leaked).

unrelated_processes_do_not_count_by_default_test() ->
    %% A process that existed before spawns one during the operation.
    Unrelated = spawn(fun() -> receive {spawn, From} -> From ! {spawned, server(x)} end end),
    Run = fun(Opts) ->
                  Self = self(),
                  Op = fun() ->
                               Unrelated ! {spawn, Self},
                               receive {spawned, P} -> Self ! {got, P} end
                       end,
                  Result = try ?A:assert_no_process_leaks(Op, Opts)
                           catch error:{assertion_failed, #{message := M}} -> binary_to_list(M)
                           end,
                  {Result, receive {got, P} -> P end}
          end,
    {Default, Spawned} = Run([]),
    ?assertEqual(ok, Default),
    stop(Spawned),
    %% With scope all it counts (other new processes may be listed too).
    Unrelated2 = spawn(fun() -> receive {spawn, From} -> From ! {spawned, server(x)} end end),
    Self = self(),
    Message = failure_message(fun() ->
                                      ?A:assert_no_process_leaks(
                                        fun() ->
                                                Unrelated2 ! {spawn, Self},
                                                receive {spawned, P} -> Self ! {got, P} end
                                        end, [{scope, all}])
                              end),
    Spawned2 = receive {got, P2} -> P2 end,
    has(Message, pid_to_list(Spawned2)),
    has(Message, "scope all"),
    stop(Spawned2).

process_leaks_bad_arguments_test() ->
    ?BADARG(?A:assert_no_process_leaks(not_a_fun)),
    ?BADARG(?A:assert_no_process_leaks(fun() -> ok end, [{scope, mine}])),
    ?BADARG(?A:assert_no_process_leaks(fun() -> ok end, [{timeout, -1}])),
    ?BADARG(?A:assert_no_process_leaks(fun() -> ok end, [{wait, 1}])).

%% Memory ---------------------------------------------------------------------

memory_usage_stable_test() ->
    ?assertEqual(ok, ?A:assert_memory_usage_stable(fun() -> lists:sum(lists:seq(1, 1000)) end)),
    Keeper = server([]),
    Size = erlang:memory(total) div 2,
    Message = failure_message(
                fun() ->
                        ?A:assert_memory_usage_stable(
                          fun() -> ok = gen_server:call(Keeper, {set, binary:copy(<<1>>, Size)}) end,
                          0.1)
                end),
    has(Message, "Memory usage not stable: the VM's total memory went from "),
    has(Message, ": +"),
    has(Message, "%, beyond the tolerance of 10% (0.1)"),
    stop(Keeper),
    ?BADARG(?A:assert_memory_usage_stable(fun() -> ok end, -0.1)),
    ?BADARG(?A:assert_memory_usage_stable(fun() -> ok end, tight)),
    ?BADARG(?A:assert_memory_usage_stable(not_a_fun, 0.1)).

%% Performance ----------------------------------------------------------------

performance_within_bounds_test() ->
    M = #{time_us => 2500, memory_bytes => 1000, reductions => 50, result => ok},
    ?assertEqual(ok, ?A:assert_performance_within_bounds(M, #{max_time => 3, max_memory => 1000})),
    ?assertEqual(ok, ?A:assert_performance_within_bounds(M, [{max_time_ms, 3}, {max_reductions, 50}])),
    ?assertEqual(ok, ?A:assert_performance_within_bounds(
                       supertester_performance:measure_operation(fun() -> ok end),
                       #{max_time => 1000})),
    Message = failure_message(fun() -> ?A:assert_performance_within_bounds(
                                         M, #{max_time => 2, max_memory => 10, max_reductions => 100})
                              end),
    has(Message, "time 2.5 ms exceeds max_time_ms = 2"),
    has(Message, "memory 1000 bytes exceeds max_memory_bytes = 10"),
    has(Message, "max_time is read as max_time_ms"),
    ?assertEqual(nomatch, string:find(Message, "reductions 50 exceeds")),
    ?FAILS(assert_performance_within_bounds,
           ?A:assert_performance_within_bounds(M, [{max_reductions, 1}])),
    ?BADARG(?A:assert_performance_within_bounds(M, #{max_latency => 1})),
    ?BADARG(?A:assert_performance_within_bounds(M, #{max_time => 1, max_time_ms => 1})),
    ?BADARG(?A:assert_performance_within_bounds(M, #{max_time => -1})),
    ?BADARG(?A:assert_performance_within_bounds(not_a_map, #{})),
    ?BADARG(?A:assert_performance_within_bounds(#{time_us => 1}, #{max_memory => 1})).
