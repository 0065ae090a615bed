%% @doc OTP-aware assertions: the Erlang side of `Supertester.Assertions',
%% usable from EUnit and Common Test.
%%
%% Every function returns `ok' or raises. A failed assertion raises
%% `{assertion_failed, #{assertion, message, details}}' whose message says
%% what was expected and what was found; a bad argument raises
%% `{badarg, #{argument, value, expected}}' before anything is run (see
%% {@link supertester_lib}). Servers and supervisors may be given as a pid, a
%% registered name, `{global, Name}' or `{via, Module, Name}'.
%%
%% ```
%% ok = supertester_assertions:assert_process_alive(Pid),
%% ok = supertester_assertions:assert_genserver_state(Counter, #{count => 5}),
%% ok = supertester_assertions:assert_genserver_state(Counter,
%%          fun(#{count := C}) -> C > 0 end),
%% ok = supertester_assertions:assert_genserver_handles_message(Counter, get, {ok, 5}),
%% ok = supertester_assertions:assert_supervisor_strategy(my_sup, one_for_all),
%% ok = supertester_assertions:assert_child_count(my_sup, 3),
%% ok = supertester_assertions:assert_all_children_alive(my_sup),
%%
%% %% Killed right before: the assertion waits for the restart.
%% exit(whereis(my_worker), kill),
%% ok = supertester_assertions:assert_process_restarted(my_worker, Original),
%%
%% ok = supertester_assertions:assert_no_process_leaks(fun() ->
%%          {ok, P} = my_server:start_link(),
%%          ok = gen_server:stop(P)
%%      end).
%% '''
%%
%% Where these are stricter than Supertester 0.5.1:
%% <ul>
%% <li>{@link assert_supervisor_strategy/2} reads the strategy from the
%%   running supervisor ({@link supertester_sup:flags/1}) and compares it;
%%   0.5.1 only checked that the supervisor answered.</li>
%% <li>{@link assert_process_restarted/3} waits (default 1000 ms) for the
%%   original to die, through a monitor, then for a new process under the
%%   name that answers a sync; 0.5.1 looked once, so it failed when called
%%   right after a kill.</li>
%% <li>{@link assert_no_process_leaks/2} takes a snapshot of every process
%%   (a sorted set in C), counts the new ones that descend from the caller
%%   (or every new one, with `{scope, all}'), waits through monitors for
%%   those on their way out, and names each leak. 0.5.1 slept 10 ms and
%%   ignored every process started through proc_lib, so it missed leaked
%%   gen_servers.</li>
%% <li>{@link assert_performance_within_bounds/2} checks a measurement map
%%   (time, memory, reductions) against bounds, and refuses unknown
%%   bounds; 0.5.1 compared keys the measurement did not have.</li>
%% <li>Supervisors are checked to be supervisors before they are asked
%%   anything, and every request is bounded (5 s): a gen_server given by
%%   mistake is not sent `which_children', and a stuck supervisor does not
%%   hang the test.</li>
%% </ul>
-module(supertester_assertions).

-export([assert_process_alive/1, assert_process_dead/1, assert_process_dead/2,
         assert_process_restarted/2, assert_process_restarted/3,
         assert_genserver_state/2, assert_genserver_responsive/1,
         assert_genserver_handles_message/3,
         assert_supervisor_strategy/2, assert_child_count/2,
         assert_all_children_alive/1,
         assert_no_process_leaks/1, assert_no_process_leaks/2,
         assert_memory_usage_stable/1, assert_memory_usage_stable/2,
         assert_performance_within_bounds/2]).

-type server() :: supertester_genserver:server().
-type name() :: atom() | {global, term()} | {via, module(), term()}.
-type strategy() :: one_for_one | one_for_all | rest_for_one | simple_one_for_one.

-export_type([strategy/0]).

-define(CALL_TIMEOUT, 1000).        % responsive, handles_message (as in 0.5.1)
-define(SUPERVISOR_TIMEOUT, 5000).  % which_children, count_children
-define(RESTART_TIMEOUT, 1000).
-define(LEAK_TIMEOUT, 1000).
-define(STRATEGIES, [one_for_one, one_for_all, rest_for_one, simple_one_for_one]).
-define(SHOW_DEPTH, 40).            % how deep terms are printed in messages

%% Processes ------------------------------------------------------------------

%% @doc Fails unless `Pid' (a process on the local node) is alive.
%%
%% The check is made when called; a signal the caller sent to `Pid' before
%% (an `exit/2', say) has reached it by then.
-spec assert_process_alive(pid()) -> ok.
assert_process_alive(Pid) ->
    check_local_pid(pid, Pid),
    case is_process_alive(Pid) of
        true -> ok;
        false -> fail(assert_process_alive, ["Expected process ", fmt_pid(Pid),
                                             " to be alive, but it is dead"], #{pid => Pid})
    end.

%% @doc Fails unless `Pid' (a process on the local node) is dead, now.
%% `exit(Pid, kill)' or `gen_server:stop(Pid)' just before is fine: the
%% signal has reached `Pid' when the check is made. For a process asked to
%% stop by a message, use {@link assert_process_dead/2}.
-spec assert_process_dead(pid()) -> ok.
assert_process_dead(Pid) ->
    check_local_pid(pid, Pid),
    case is_process_alive(Pid) of
        false -> ok;
        true -> still_alive(Pid, "")
    end.

%% @doc Fails unless `Pid' is dead or dies within `Timeout' ms (watched
%% through a monitor). An extension of 0.5.1's `assert_process_dead/1'.
-spec assert_process_dead(pid(), timeout()) -> ok.
assert_process_dead(Pid, Timeout) ->
    check_local_pid(pid, Pid),
    _ = supertester_lib:check_timeout(timeout, Timeout),
    case is_process_alive(Pid) of
        false ->
            ok;
        true ->
            Mon = erlang:monitor(process, Pid),
            case supertester_proc:await_down(Mon, Pid, Timeout) of
                {ok, _Reason} ->
                    ok;
                {error, timeout} ->
                    erlang:demonitor(Mon, [flush]),
                    still_alive(Pid, io_lib:format(" after ~s ms", [fmt_timeout(Timeout)]))
            end
    end.

-spec still_alive(pid(), iodata()) -> no_return().
still_alive(Pid, After) ->
    fail(assert_process_dead,
         ["Expected process ", fmt_pid(Pid), " to be dead, but it is alive", After, ": ",
          describe(Pid)],
         #{pid => Pid}).

%% @equiv assert_process_restarted(Name, OriginalPid, 1000)
-spec assert_process_restarted(name(), pid()) -> ok.
assert_process_restarted(Name, OriginalPid) ->
    assert_process_restarted(Name, OriginalPid, ?RESTART_TIMEOUT).

%% @doc Fails unless the process registered as `Name' is restarted: waits
%% up to `Timeout' ms for `OriginalPid' to die (through a monitor), then
%% for a new process to be registered under `Name' and answer a sync
%% ({@link supertester_otp:wait_for_process_restart/3}). So it can be
%% called right after killing the process:
%% ```
%% Original = whereis(my_worker),
%% exit(Original, kill),
%% ok = supertester_assertions:assert_process_restarted(my_worker, Original).
%% '''
%% The failure says whether nothing is registered under the name, the
%% original is still there, or a new process did not answer. A replacement
%% that is not an OTP process (it cannot answer a sync) is accepted once
%% the time is up.
-spec assert_process_restarted(name(), pid(), timeout()) -> ok.
assert_process_restarted(Name, OriginalPid, Timeout) ->
    check_name(process_name, Name),
    is_pid(OriginalPid) orelse supertester_lib:bad_arg(original_pid, OriginalPid, "a pid"),
    _ = supertester_lib:check_timeout(timeout, Timeout),
    case supertester_otp:wait_for_process_restart(Name, OriginalPid, Timeout) of
        {ok, _NewPid} -> ok;
        {error, _} -> not_restarted(Name, OriginalPid, Timeout)
    end.

not_restarted(Name, Original, Timeout) ->
    Current = whereis_server(Name),
    OriginalAlive = alive(Original),
    Why = case Current of
              undefined when OriginalAlive ->
                  ["nothing is registered as ", fmt(Name), " and the original process ",
                   fmt_pid(Original), " is still alive"];
              undefined ->
                  ["nothing is registered as ", fmt(Name), "; the original process ",
                   fmt_pid(Original), " is dead and was not replaced (is it supervised, "
                   "and registered under this name?)"];
              Original when OriginalAlive ->
                  ["the same process ", fmt_pid(Original), " is still registered as ",
                   fmt(Name), " and alive: it did not die"];
              Original ->
                  ["the dead original process ", fmt_pid(Original),
                   " is still registered as ", fmt(Name)];
              New when OriginalAlive ->
                  [fmt_pid(New), " is registered as ", fmt(Name), " but the original process ",
                   fmt_pid(Original), " is still alive"];
              New ->
                  case alive(New) andalso node(New) =:= node()
                      andalso supertester_proc:kind(New) =:= process of
                      true -> accepted;
                      false -> ["a new process ", fmt_pid(New), " is registered as ", fmt(Name),
                                " but it did not answer a sync (still starting, or stuck)"]
                  end
          end,
    case Why of
        accepted ->
            ok;
        _ ->
            fail(assert_process_restarted,
                 ["Process ", fmt(Name), " was not restarted within ", fmt_timeout(Timeout),
                  " ms: ", Why],
                 #{name => Name, original_pid => Original, current_pid => Current,
                   original_alive => OriginalAlive})
    end.

%% GenServers -----------------------------------------------------------------

%% @doc Fails unless the state of the gen_server (read with
%% `sys:get_state/2', 5 s) matches `Expected': equal to it (`=='), or, when
%% `Expected' is a function of arity 1, the function returns anything but
%% `false' or `nil' for it. Functions of another arity are refused.
%% ```
%% ok = supertester_assertions:assert_genserver_state(Counter, #{count => 5}),
%% ok = supertester_assertions:assert_genserver_state(Counter,
%%          fun(#{count := C, status := S}) -> C > 0 andalso S =:= active end).
%% '''
%% The failure shows the state, and for an exact value the expected one
%% (and for two maps, the keys that differ). When the state cannot be read
%% the failure says why (no process, no answer...). An exception raised by
%% the function goes through unchanged.
-spec assert_genserver_state(server(), term() | fun((term()) -> term())) -> ok.
assert_genserver_state(Server, Expected) ->
    check_server(server, Server),
    is_function(Expected) andalso not is_function(Expected, 1) andalso
        supertester_lib:bad_arg(expected_state, Expected,
                                "a term to compare the state with, or a function of "
                                "arity 1 that returns true for a good state"),
    case supertester_genserver:get_server_state_safely(Server) of
        {ok, State} when is_function(Expected, 1) ->
            case Expected(State) of
                Falsy when Falsy =:= false; Falsy =:= nil ->
                    fail(assert_genserver_state,
                         ["The state of GenServer ", fmt(Server),
                          " does not satisfy the given function (it returned ", fmt(Falsy),
                          ").\nState: ", fmt_term(State)],
                         #{server => Server, state => State});
                _ ->
                    ok
            end;
        {ok, State} when State == Expected ->
            ok;
        {ok, State} ->
            fail(assert_genserver_state,
                 ["The state of GenServer ", fmt(Server), " does not match.\nExpected: ",
                  fmt_term(Expected), "\nActual:   ", fmt_term(State), map_difference(Expected, State)],
                 #{server => Server, state => State, expected => Expected});
        {error, Reason} ->
            fail(assert_genserver_state,
                 ["Could not read the state of GenServer ", fmt(Server), ": ",
                  explain(Reason, 5000)],
                 #{server => Server, reason => Reason})
    end.

%% For two maps, which keys differ: what a long map printed twice hides.
map_difference(Expected, Actual) when is_map(Expected), is_map(Actual) ->
    Missing = [K || K <- maps:keys(Expected), not maps:is_key(K, Actual)],
    Extra = [K || K <- maps:keys(Actual), not maps:is_key(K, Expected)],
    Changed = [K || {K, V} <- maps:to_list(Expected), maps:is_key(K, Actual),
                    maps:get(K, Actual) /= V],
    Lines = [["\n  key ", fmt(K), ": expected ", fmt_term(maps:get(K, Expected)),
              ", got ", fmt_term(maps:get(K, Actual))] || K <- lists:sort(Changed)] ++
        [["\n  key ", fmt(K), ": missing"] || K <- lists:sort(Missing)] ++
        [["\n  key ", fmt(K), ": not expected"] || K <- lists:sort(Extra)],
    case Lines of
        [] -> [];
        _ -> ["\nDifferences:", lists:sublist(Lines, 20)]
    end;
map_difference(_Expected, _Actual) ->
    [].

%% @doc Fails unless the gen_server answers within 1000 ms. It is asked
%% through its sync handler when it has one (`Supertester.TestableGenServer'
%% or the `supertester_testable' parse transform), `sys:get_state/2'
%% otherwise ({@link supertester_genserver:sync/2}), so a server without
%% the handler is not crashed by the question.
-spec assert_genserver_responsive(server()) -> ok.
assert_genserver_responsive(Server) ->
    check_server(server, Server),
    case supertester_genserver:sync(Server, ?CALL_TIMEOUT) of
        ok ->
            ok;
        {error, Reason} ->
            fail(assert_genserver_responsive,
                 ["GenServer ", fmt(Server), " is not responsive: ", explain(Reason, ?CALL_TIMEOUT)],
                 #{server => Server, reason => Reason})
    end.

%% @doc Fails unless calling the gen_server with `Message' (1000 ms)
%% returns a reply equal (`==') to `Expected'.
%% ```
%% ok = supertester_assertions:assert_genserver_handles_message(Counter, get, {ok, 5}).
%% '''
-spec assert_genserver_handles_message(server(), term(), term()) -> ok.
assert_genserver_handles_message(Server, Message, Expected) ->
    check_server(server, Server),
    case supertester_genserver:call_with_timeout(Server, Message, ?CALL_TIMEOUT) of
        {ok, Reply} when Reply == Expected ->
            ok;
        {ok, Reply} ->
            fail(assert_genserver_handles_message,
                 ["GenServer ", fmt(Server), " replied to ", fmt_term(Message),
                  " with an unexpected reply.\nExpected: ", fmt_term(Expected),
                  "\nActual:   ", fmt_term(Reply)],
                 #{server => Server, message => Message, expected => Expected, reply => Reply});
        {error, Reason} ->
            fail(assert_genserver_handles_message,
                 ["GenServer ", fmt(Server), " did not reply to ", fmt_term(Message), ": ",
                  explain(Reason, ?CALL_TIMEOUT), "\nExpected: ", fmt_term(Expected)],
                 #{server => Server, message => Message, expected => Expected, reason => Reason})
    end.

%% Supervisors ----------------------------------------------------------------

%% @doc Fails unless the supervisor's restart strategy is `Expected'
%% (`one_for_one', `one_for_all', `rest_for_one' or `simple_one_for_one').
%% The strategy is read from the running supervisor (an OTP supervisor,
%% or an Elixir Supervisor or DynamicSupervisor: DynamicSupervisor's is
%% `one_for_one'), see {@link supertester_sup:flags/1}. Supertester 0.5.1
%% did not check it at all.
%% ```
%% ok = supertester_assertions:assert_supervisor_strategy(my_sup, one_for_all).
%% '''
-spec assert_supervisor_strategy(server(), strategy()) -> ok.
assert_supervisor_strategy(Supervisor, Expected) ->
    check_server(supervisor, Supervisor),
    lists:member(Expected, ?STRATEGIES) orelse
        supertester_lib:bad_arg(expected_strategy, Expected,
                                "one of one_for_one, one_for_all, rest_for_one, simple_one_for_one"),
    Pid = supervisor_pid(assert_supervisor_strategy, Supervisor),
    case supertester_sup:flags(Pid) of
        {ok, #{strategy := Expected}} ->
            ok;
        {ok, #{strategy := Actual, intensity := Intensity, period := Period} = Flags} ->
            fail(assert_supervisor_strategy,
                 ["Supervisor ", fmt(Supervisor), " has the wrong restart strategy: expected ",
                  fmt(Expected), ", supervisor uses ", fmt(Actual),
                  io_lib:format(" (intensity ~b, period ~b s)", [Intensity, Period])],
                 #{supervisor => Supervisor, expected => Expected, flags => Flags});
        {error, Reason} ->
            fail(assert_supervisor_strategy,
                 ["Could not read the strategy of supervisor ", fmt(Supervisor), ": ",
                  explain(Reason, 5000)],
                 #{supervisor => Supervisor, expected => Expected, reason => Reason})
    end.

%% @doc Fails unless the supervisor has `Expected' active children (the
%% `active' count of `supervisor:count_children/1', as in 0.5.1: children
%% whose process is running). The failure shows every count.
-spec assert_child_count(server(), non_neg_integer()) -> ok.
assert_child_count(Supervisor, Expected) ->
    check_server(supervisor, Supervisor),
    supertester_lib:check_non_neg_integer(expected_count, Expected),
    Pid = supervisor_pid(assert_child_count, Supervisor),
    Counts = case supervisor_call(assert_child_count, Supervisor, Pid, count_children) of
                 Map when is_map(Map) -> Map;
                 List -> maps:from_list(List)
             end,
    case maps:get(active, Counts, undefined) of
        Expected ->
            ok;
        Active ->
            fail(assert_child_count,
                 ["Supervisor ", fmt(Supervisor), " has ", fmt(Active),
                  " active children, expected ", integer_to_list(Expected),
                  io_lib:format(" (specs: ~0p, active: ~0p, workers: ~0p, supervisors: ~0p)",
                                [maps:get(K, Counts, undefined)
                                 || K <- [specs, active, workers, supervisors]])],
                 #{supervisor => Supervisor, expected => Expected, counts => Counts})
    end.

%% @doc Fails unless every child of the supervisor is running: a child
%% whose process is `undefined' (not running), `restarting', or dead is a
%% failure, listed with its id. A supervisor without children passes.
-spec assert_all_children_alive(server()) -> ok.
assert_all_children_alive(Supervisor) ->
    check_server(supervisor, Supervisor),
    Pid = supervisor_pid(assert_all_children_alive, Supervisor),
    Children = supervisor_call(assert_all_children_alive, Supervisor, Pid, which_children),
    Bad = [{Id, Child, Why} || {Id, Child, _Type, _Modules} <- Children,
                               Why <- child_problem(Child)],
    case Bad of
        [] ->
            ok;
        _ ->
            fail(assert_all_children_alive,
                 [io_lib:format("~b of the ~b children of supervisor ", [length(Bad), length(Children)]),
                  fmt(Supervisor), plural(length(Bad), " is", " are"), " not alive:",
                  [["\n  child ", fmt(Id), ": ", Why] || {Id, _, Why} <- Bad]],
                 #{supervisor => Supervisor,
                   dead => [#{id => Id, child => Child} || {Id, Child, _} <- Bad]})
    end.

child_problem(undefined) -> ["not running (undefined)"];
child_problem(restarting) -> ["restarting"];
child_problem(Pid) when is_pid(Pid) ->
    case alive(Pid) of
        true -> [];
        false -> [[fmt_pid(Pid), " is dead"]]
    end;
child_problem(Other) -> [["unexpected child ", fmt(Other)]].

%% The pid of a live supervisor, or a failure of Assertion saying why not.
%% A gen_server given by mistake is never sent a supervisor request.
supervisor_pid(Assertion, Supervisor) ->
    case whereis_server(Supervisor) of
        undefined ->
            not_a_supervisor(Assertion, Supervisor,
                             "is not running: nothing is registered under this name");
        Pid when node(Pid) =/= node() ->
            Pid;
        Pid ->
            case supertester_sup:is_supervisor(Pid) of
                true -> Pid;
                false ->
                    case is_process_alive(Pid) of
                        false -> not_a_supervisor(Assertion, Supervisor,
                                                  ["is not running: ", fmt_pid(Pid), " is dead"]);
                        true -> not_a_supervisor(Assertion, Supervisor,
                                                 ["is not a supervisor: ", describe(Pid)])
                    end
            end
    end.

-spec not_a_supervisor(atom(), server(), iodata()) -> no_return().
not_a_supervisor(Assertion, Supervisor, Why) ->
    fail(Assertion, ["Supervisor ", fmt(Supervisor), " ", Why], #{supervisor => Supervisor}).

%% which_children and count_children are the same call for OTP's
%% supervisor and Elixir's DynamicSupervisor; bounded here (their API
%% functions wait forever).
supervisor_call(Assertion, Supervisor, Pid, Request) ->
    try
        gen_server:call(Pid, Request, ?SUPERVISOR_TIMEOUT)
    catch
        exit:{Reason, {gen_server, call, _}} ->
            fail(Assertion, ["Could not ask supervisor ", fmt(Supervisor), " for ",
                             atom_to_list(Request), ": ", explain(Reason, ?SUPERVISOR_TIMEOUT)],
                 #{supervisor => Supervisor, reason => Reason})
    end.

%% Leaks ----------------------------------------------------------------------

%% @equiv assert_no_process_leaks(Operation, [])
-spec assert_no_process_leaks(fun(() -> term())) -> ok.
assert_no_process_leaks(Operation) ->
    assert_no_process_leaks(Operation, []).

%% @doc Runs `Operation' and fails if processes it started are still alive
%% when it returns. Each leak is reported with its pid, initial call,
%% registered name and what it is doing.
%%
%% How: every process is recorded before (a sorted set in the C core), the
%% operation runs, and the processes that appeared since are the
%% candidates. A candidate that is still running (runnable, exiting, in a
%% `terminate' callback, or with messages to handle) is waited for through
%% a monitor, at most `timeout' ms, so a task that has just replied, or a
%% server stopping, is not a leak; one waiting in a `receive' with nothing
%% to handle is settled: it is a leak, reported at once.
%%
%% Options:
%% <ul>
%% <li>`scope': `caller' (the default) counts only the processes that
%%   descend from the calling process: their parent (`process_info(P,
%%   parent)'), or the first live ancestor in their `$ancestors' when the
%%   parent is dead, or the first live entry of `$callers' (Elixir tasks),
%%   is the caller or a process that is itself new and counted. Processes
%%   started meanwhile by other tests or by the system are left out, so
%%   this is safe in concurrent (async) tests. It does miss a process
%%   started on the caller's behalf by a process that existed before (a
%%   child added to a long-lived supervisor by a call, say; an Elixir task
%%   of a long-lived `Task.Supervisor' is counted, through `$callers') and
%%   a plain `spawn' whose spawner has already exited. `all' counts every new
%%   process, as 0.5.1 meant to: complete, but only meaningful when
%%   nothing else runs meanwhile (`async: false').</li>
%% <li>`timeout' (ms, default 1000): how long to wait for the processes
%%   still running when the operation returns.</li>
%% </ul>
%% The operation's result is ignored; its exceptions go through. Leaked
%% processes are left running: stop them yourself.
-spec assert_no_process_leaks(fun(() -> term()), supertester_lib:options()) -> ok.
assert_no_process_leaks(Operation, Opts) ->
    _ = supertester_lib:check_fun(operation, Operation, 0),
    O = supertester_lib:options(assert_no_process_leaks, Opts, [scope, timeout]),
    Scope = maps:get(scope, O, caller),
    lists:member(Scope, [caller, all]) orelse
        supertester_lib:bad_arg(scope, Scope, "caller (processes descending from the caller) or all"),
    Timeout = supertester_lib:check_non_neg_integer(timeout, maps:get(timeout, O, ?LEAK_TIMEOUT)),
    Caller = self(),
    {ok, Snapshot} = supertester_nif:iso_snapshot(processes(), [], []),
    _ = Operation(),
    #{processes := #{added := Added}} =
        supertester_nif:iso_snapshot_diff(Snapshot, processes(), [], []),
    New = [P || P <- Added, P =/= Caller],
    Candidates = case Scope of
                     all -> New;
                     caller -> descendants(Caller, New)
                 end,
    case settle(Candidates, Timeout) of
        [] ->
            ok;
        Leaked ->
            Described = [D || P <- Leaked, D <- leak_info(P)],
            report_leaks(Described, Scope, Caller)
    end.

report_leaks([], _Scope, _Caller) ->
    ok;  % they died while being described
report_leaks(Leaks, Scope, Caller) ->
    ScopeLine = case Scope of
                    caller -> ["Counted: processes descending from the caller ", fmt_pid(Caller),
                               " (scope all counts every process started meanwhile)."];
                    all -> "Counted: every process started meanwhile (scope all)."
                end,
    fail(assert_no_process_leaks,
         [io_lib:format("Process leak: ~b process~s started during the operation ~s still alive:",
                        [length(Leaks), plural(length(Leaks), "", "es"),
                         plural(length(Leaks), "is", "are")]),
          [["\n  ", fmt_pid(P), ": ", describe_info(D)] || #{pid := P} = D <- Leaks],
          "\n", ScopeLine],
         #{processes => Leaks, scope => Scope}).

plural(1, One, _Many) -> One;
plural(_, _One, Many) -> Many.

%% The new processes that descend from Caller (see the scope option).
descendants(Caller, New) ->
    Ctx = {Caller, maps:from_list([{P, true} || P <- New])},
    {Owned, _Memo} = lists:foldl(fun(P, {Acc, Memo0}) ->
                                         {Yes, Memo} = belongs(P, Ctx, Memo0),
                                         {[P || Yes] ++ Acc, Memo}
                                 end, {[], #{}}, New),
    lists:reverse(Owned).

belongs(P, Ctx, Memo) ->
    case Memo of
        #{P := Known} ->
            {Known, Memo};
        _ ->
            %% Marked false while it is looked at, so a cycle ends.
            {Yes, Memo1} = belongs_now(P, Ctx, Memo#{P => false}),
            {Yes, Memo1#{P => Yes}}
    end.

belongs_now(P, Ctx, Memo) ->
    case process_info(P, [parent, dictionary]) of
        undefined ->
            {false, Memo};  % exiting: whose it was cannot be told any more
        [{parent, Parent}, {dictionary, Dict}] ->
            Ancestors = dict_list('$ancestors', Dict),
            case lineage([Parent | Ancestors], Ctx, Memo) of
                {true, _} = Yes -> Yes;
                {false, Memo1} -> lineage(dict_list('$callers', Dict), Ctx, Memo1)
            end
    end.

dict_list(Key, Dict) ->
    case lists:keyfind(Key, 1, Dict) of
        {Key, List} when is_list(List) -> List;
        _ -> []
    end.

%% The first live process of the chain decides: the caller, or a new
%% process that belongs. Dead ones (and unregistered names) are skipped.
lineage([], _Ctx, Memo) ->
    {false, Memo};
lineage([Ancestor | Rest], {Caller, New} = Ctx, Memo) ->
    case supertester_lib:resolve(Ancestor) of
        Caller ->
            {true, Memo};
        Pid when is_pid(Pid), node(Pid) =:= node() ->
            case is_process_alive(Pid) of
                false -> lineage(Rest, Ctx, Memo);
                true when is_map_key(Pid, New) -> belongs(Pid, Ctx, Memo);
                true -> {false, Memo}  % an older process: not the caller's
            end;
        undefined ->
            lineage(Rest, Ctx, Memo);
        _Remote ->
            {false, Memo}
    end.

%% Waits, through monitors and at most Timeout ms, for the candidates that
%% are still running; returns those alive at the end that are not, plus
%% the settled ones, in pid order.
settle(Candidates, Timeout) ->
    Deadline = supertester_lib:deadline(Timeout),
    {Settled, Running} = classify(Candidates),
    Watched = maps:from_list([{erlang:monitor(process, P), P} || P <- Running]),
    lists:sort(await_settled(Watched, Settled, Deadline, 1)).

classify(Pids) ->
    lists:foldr(fun(P, {Settled, Running}) ->
                        case state_of(P) of
                            settled -> {[P | Settled], Running};
                            running -> {Settled, [P | Running]}
                        end
                end, {[], []}, Pids).

%% `settled': alive and waiting in a receive with nothing to handle (it is
%% not about to exit). `running': anything else, including exiting.
state_of(P) ->
    case process_info(P, [status, message_queue_len]) of
        [{status, Status}, {message_queue_len, 0}]
          when Status =:= waiting; Status =:= suspended ->
            case terminating(P) of
                true -> running;
                false -> settled
            end;
        _ ->
            running
    end.

%% In an OTP behaviour's terminate (a supervisor shutting its children
%% down, a server's terminate/2 waiting on a call): on its way out.
terminating(P) ->
    case process_info(P, current_stacktrace) of
        {current_stacktrace, Frames} ->
            lists:any(fun({gen_server, terminate, _, _}) -> true;
                         ({gen_statem, terminate, _, _}) -> true;
                         ({gen_event, terminate_server, _, _}) -> true;
                         ({proc_lib, exit_p, _, _}) -> true;
                         (_) -> false
                      end, Frames);
        undefined ->
            false
    end.

await_settled(Watched, Leaked, _Deadline, _Pause) when map_size(Watched) =:= 0 ->
    Leaked;
await_settled(Watched, Leaked, Deadline, Pause) ->
    Remaining = supertester_lib:remaining(Deadline),
    receive
        {'DOWN', Ref, process, _Pid, _Reason} when is_map_key(Ref, Watched) ->
            await_settled(maps:remove(Ref, Watched), Leaked, Deadline, Pause)
    after min(Pause, Remaining) ->
            %% No death for a while: look again at those still running. At
            %% the deadline every live one is a leak.
            {Still, Now} =
                maps:fold(fun(Ref, P, {W, L}) ->
                                  case Remaining =:= 0 orelse state_of(P) =:= settled of
                                      true ->
                                          erlang:demonitor(Ref, [flush]),
                                          {W, [P || is_process_alive(P)] ++ L};
                                      false ->
                                          {W#{Ref => P}, L}
                                  end
                          end, {#{}, Leaked}, Watched),
            await_settled(Still, Now, Deadline, min(2 * Pause, 16))
    end.

leak_info(P) ->
    case supertester_proc:describe(P) of
        undefined -> [];
        Info -> [Info]
    end.

%% "initial call M:F/A, registered as N, waiting in M:F/A"
describe(P) ->
    case leak_info(P) of
        [Info] -> describe_info(Info);
        [] -> "it has exited"
    end.

describe_info(#{initial_call := IC, name := Name, status := Status, current_function := CF}) ->
    ["initial call ", fmt_mfa(IC),
     case Name of undefined -> ""; _ -> [", registered as ", fmt(Name)] end,
     ", ", atom_to_list(Status), " in ", fmt_mfa(CF)].

%% Memory ---------------------------------------------------------------------

%% @equiv assert_memory_usage_stable(Operation, 0.1)
-spec assert_memory_usage_stable(fun(() -> term())) -> ok.
assert_memory_usage_stable(Operation) ->
    assert_memory_usage_stable(Operation, 0.1).

%% @doc Runs `Operation' and fails when the VM's total memory
%% (`erlang:memory(total)') changed by more than `Tolerance' (a fraction:
%% 0.1 is 10%) between before and after, up or down. As in 0.5.1, the
%% caller is garbage-collected after the operation; here also before the
%% first reading, so garbage the test made earlier does not count as a
%% drop. The failure gives both readings, the change in bytes and percent,
%% and the tolerance.
%%
%% The whole VM is measured: memory that concurrent tests allocate or free
%% counts too, so run this where nothing else does (`async: false'). For
%% growth over many iterations, {@link
%% supertester_performance:assert_no_memory_leak/3} is more robust.
-spec assert_memory_usage_stable(fun(() -> term()), number()) -> ok.
assert_memory_usage_stable(Operation, Tolerance) ->
    _ = supertester_lib:check_fun(operation, Operation, 0),
    supertester_lib:check_non_neg_number(tolerance, Tolerance),
    true = erlang:garbage_collect(),
    Before = erlang:memory(total),
    _ = Operation(),
    true = erlang:garbage_collect(),
    After = erlang:memory(total),
    Change = (After - Before) / Before,
    case abs(Change) =< Tolerance of
        true ->
            ok;
        false ->
            Sign = case After >= Before of true -> "+"; false -> "-" end,
            fail(assert_memory_usage_stable,
                 ["Memory usage not stable: the VM's total memory went from ",
                  supertester_lib:format_bytes(Before), " to ", supertester_lib:format_bytes(After),
                  ": ", Sign, supertester_lib:format_bytes(abs(After - Before)),
                  ", ", Sign, fmt_percent(abs(Change)), ", beyond the tolerance of ",
                  fmt_percent(Tolerance), " (", supertester_lib:format_number(Tolerance), ")"],
                 #{before_bytes => Before, after_bytes => After, change => Change,
                   tolerance => Tolerance})
    end.

%% Performance ----------------------------------------------------------------

%% @doc Fails when a measurement exceeds a bound. `Result' is a map with
%% `time_us', `memory_bytes' and `reductions', as
%% {@link supertester_performance:measure_operation/1} returns (or an entry
%% of `compare_performance', whose `time_us' is the median). The
%% expectations, a map or a proplist:
%% <ul>
%% <li>`max_time' or `max_time_ms': the most milliseconds `time_us' may
%%   be;</li>
%% <li>`max_memory' or `max_memory_bytes': the most bytes for
%%   `memory_bytes';</li>
%% <li>`max_reductions': the most reductions.</li>
%% </ul>
%% The short names are those of 0.5.1's example, the long ones those of
%% `assert_performance'; giving both for one bound, or any other key, is a
%% `badarg' error. Every exceeded bound is listed in the failure (through
%% {@link supertester_performance:assert_expectations/2}).
%% ```
%% M = supertester_performance:measure_operation(fun() -> work() end),
%% ok = supertester_assertions:assert_performance_within_bounds(
%%        M, #{max_time => 1000, max_memory => 1000000}).
%% '''
-spec assert_performance_within_bounds(map(), supertester_lib:options()) -> ok.
assert_performance_within_bounds(Result, Expectations) ->
    is_map(Result) orelse
        supertester_lib:bad_arg(benchmark_result, Result,
                                "a measurement map with time_us, memory_bytes and reductions, "
                                "such as measure_operation/1 returns"),
    Given = supertester_lib:options(assert_performance_within_bounds, Expectations,
                                    [max_time, max_time_ms, max_memory, max_memory_bytes,
                                     max_reductions]),
    Bounds = maps:fold(fun(Key, Limit, Acc) ->
                               Canonical = canonical_bound(Key),
                               maps:is_key(Canonical, Acc) andalso
                                   supertester_lib:bad_arg(expectations, Expectations,
                                                           io_lib:format("one of ~s and ~s, not both",
                                                                         [Key, Canonical])),
                               Acc#{Canonical => Limit}
                       end, #{}, Given),
    try
        supertester_performance:assert_expectations(Result, Bounds)
    catch
        error:{assertion_failed, #{message := Message, details := Details}} ->
            Aliases = [[atom_to_list(K), " is read as ", atom_to_list(canonical_bound(K))]
                       || K <- [max_time, max_memory], maps:is_key(K, Given)],
            Note = case Aliases of
                       [] -> [];
                       _ -> ["\n(", lists:join("; ", Aliases), ")"]
                   end,
            fail(assert_performance_within_bounds, [Message, Note], Details)
    end.

canonical_bound(max_time) -> max_time_ms;
canonical_bound(max_memory) -> max_memory_bytes;
canonical_bound(Key) -> Key.

%% Shared ---------------------------------------------------------------------

-spec fail(atom(), iodata(), map()) -> no_return().
fail(Assertion, Message, Details) ->
    supertester_lib:assertion_failed(Assertion, Message, Details).

check_local_pid(_Name, Pid) when is_pid(Pid), node(Pid) =:= node() -> ok;
check_local_pid(Name, Pid) when is_pid(Pid) ->
    supertester_lib:bad_arg(Name, Pid, io_lib:format("a pid of a process on this node (~s), not of ~s",
                                                     [node(), node(Pid)]));
check_local_pid(Name, Other) ->
    supertester_lib:bad_arg(Name, Other, "a pid").

check_server(Name, Server) ->
    _ = supertester_lib:check_process_ref(Name, Server),
    ok.

check_name(Name, Pid) when is_pid(Pid) ->
    supertester_lib:bad_arg(Name, Pid, "a registered name, {global, Name} or {via, Module, Name} "
                            "(a restarted process has a new pid: give the name it is registered under)");
check_name(Name, Value) ->
    check_server(Name, Value).

%% The pid a server name stands for now, or undefined (a {via, ...}
%% registry that is not running counts as nothing registered).
whereis_server(Server) ->
    try supertester_lib:resolve(Server) of
        Pid when is_pid(Pid) -> Pid;
        _ -> undefined
    catch
        _:_ -> undefined
    end.

alive(Pid) when node(Pid) =:= node() ->
    is_process_alive(Pid);
alive(Pid) ->
    try erpc:call(node(Pid), erlang, is_process_alive, [Pid], ?CALL_TIMEOUT)
    catch _:_ -> false
    end.

%% Why a call or sys:get_state failed, for people.
explain(noproc, _Timeout) -> "no process is running (noproc)";
explain(timeout, Timeout) -> ["it did not answer within ", fmt_timeout(Timeout), " ms (timeout)"];
explain({nodedown, Node}, _Timeout) -> ["node ", fmt(Node), " is down (nodedown)"];
explain(calling_self, _Timeout) -> "the caller is that process itself (calling_self)";
explain(unknown_state, _Timeout) ->
    "its state is not that of an OTP supervisor or a DynamicSupervisor (unknown_state)";
explain({unexpected_sync_reply, Reply}, _Timeout) ->
    ["its sync handler replied ", fmt_term(Reply), " instead of ok"];
explain({Cause, [{M, F, Args, _Location} | _]}, _Timeout) when is_atom(M), is_atom(F) ->
    %% A crash: {function_clause, Stacktrace} and the like.
    Arity = case is_list(Args) of true -> length(Args); false -> Args end,
    ["it crashed: ", fmt_term(Cause), " in ", fmt_mfa({M, F, Arity})];
explain(Reason, _Timeout) -> ["it exited: ", fmt_term(Reason)].

fmt(Term) -> io_lib:format("~0tp", [Term]).

fmt_term(Term) -> io_lib:format("~tP", [Term, ?SHOW_DEPTH]).

fmt_pid(Pid) -> pid_to_list(Pid).

%% 0.1 -> "10%", 0.123456 -> "12.346%"
fmt_percent(Fraction) ->
    Percent = round(Fraction * 100000) / 1000,
    case Percent == trunc(Percent) of
        true -> [integer_to_list(trunc(Percent)), "%"];
        false -> [supertester_lib:format_number(Percent), "%"]
    end.

fmt_timeout(infinity) -> "infinity";
fmt_timeout(Ms) -> integer_to_list(Ms).

fmt_mfa({M, F, A}) when is_atom(M), is_atom(F), is_integer(A) ->
    io_lib:format("~ts:~ts/~b", [M, F, A]);
fmt_mfa(Other) ->
    fmt(Other).
