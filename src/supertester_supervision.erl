%% @doc Supervision testing (Supertester.SupervisorHelpers): restart
%% strategies, tree structure, supervision events and stabilisation.
%%
%% Every wait follows the supervisor's own trace events (see
%% {@link supertester_recovery}): a restart is seen when it happens. The
%% supervision events come from the C core, which rebuilds them from the
%% supervisor's spawns, the exits it receives and its own exit.
-module(supertester_supervision).

-export([test_restart_strategy/3, test_restart_strategy/4,
         assert_supervision_tree_structure/2,
         trace_supervision_events/1, trace_supervision_events/2,
         start_trace/2, stop_trace/1,
         wait_for_supervisor_stabilization/1, wait_for_supervisor_stabilization/2,
         get_active_child_count/1]).

-export_type([restart_result/0, supervision_event/0, trace/0]).

-type restart_result() :: #{restarted := [term()], not_restarted := [term()],
                            supervisor_alive := boolean()}.
-type supervision_event() ::
        {child_started, Id :: term(), pid()}
      | {child_terminated, Id :: term(), pid(), Reason :: term()}
      | {child_restarted, Id :: term(), OldPid :: pid(), NewPid :: pid()}
      | {supervisor_terminated, pid(), Reason :: term()}.
-opaque trace() :: #{session := supertester_trace:session(), supervisor := pid(),
                     ids := tuple(), children := [{pid() | undefined, atom()}]}.

-define(DEFAULT_TIMEOUT, 5000).
%% How long stopping a trace waits for the supervisor to handle the deaths
%% that came before the stop.
-define(SETTLE_TIMEOUT, 5000).

%% @doc Kills children of a supervisor and reports which restarted.
%% `Scenario' is `{kill_child, Id}', `{kill_children, [Id]}' or
%% `{cascade_failure, Id}' (the child and every child started after it).
%% `Strategy' is the strategy the test expects; a supervisor running
%% another one fails the call, since the result would not mean what the
%% test reads into it. Returns, in start order, the children whose pid
%% changed (`restarted') and those that kept theirs (`not_restarted'), and
%% whether the supervisor survived. Options: `timeout' (ms, default 5000).
-spec test_restart_strategy(term(), atom(), term()) -> restart_result().
test_restart_strategy(Sup, Strategy, Scenario) ->
    test_restart_strategy(Sup, Strategy, Scenario, []).

-spec test_restart_strategy(term(), atom(), term(), supertester_lib:options()) ->
          restart_result().
test_restart_strategy(SupRef, Strategy, Scenario, Opts0) ->
    Opts = supertester_lib:options(test_restart_strategy, Opts0, [timeout]),
    Deadline = supertester_lib:deadline(
                 supertester_lib:check_timeout(timeout, maps:get(timeout, Opts, ?DEFAULT_TIMEOUT))),
    Sup = supertester_lib:resolve_local_pid(supervisor, SupRef),
    check_strategy(Sup, Strategy),
    Before = supertester_sup:start_order(supervisor:which_children(Sup)),
    Victims = victims(Scenario, Before),
    Watch = supertester_recovery:watch(Sup),
    try
        [exit(Pid, kill) || {_Id, Pid} <- Victims],
        After = [await_handled(Sup, Pid, Watch, Deadline) || {_Id, Pid} <- Victims],
        Now = case lists:member(supervisor_down, After) orelse not is_process_alive(Sup) of
                  true -> [];
                  false -> supertester_sup:start_order(supervisor:which_children(Sup))
              end,
        Alive = is_process_alive(Sup),
        #{restarted => [Id || {Id, Pid} <- Before, restarted(Id, Pid, Now)],
          not_restarted => [Id || {Id, Pid} <- Before, not restarted(Id, Pid, Now)],
          supervisor_alive => Alive}
    after
        supertester_recovery:unwatch(Watch)
    end.

await_handled(Sup, Pid, Watch, Deadline) ->
    case supertester_recovery:await_exit_handled(Sup, Pid, Watch, Deadline) of
        {ok, _} -> ok;
        {error, supervisor_down} -> supervisor_down;
        {error, timeout} ->
            supertester_lib:assertion_failed(
              test_restart_strategy,
              io_lib:format("the supervisor did not handle the death of ~p in time", [Pid]),
              #{supervisor => Sup, child => Pid})
    end.

restarted(Id, OldPid, Now) ->
    case lists:keyfind(Id, 1, Now) of
        {Id, NewPid} -> NewPid =/= OldPid;
        false -> false
    end.

check_strategy(Sup, Expected) ->
    is_atom(Expected) orelse supertester_lib:bad_arg(strategy, Expected, "a strategy atom"),
    case supertester_sup:flags(Sup) of
        {ok, #{strategy := Expected}} -> ok;
        {ok, #{strategy := Actual}} ->
            supertester_lib:assertion_failed(
              test_restart_strategy,
              io_lib:format("expected a ~p supervisor, but ~p uses ~p", [Expected, Sup, Actual]),
              #{expected => Expected, actual => Actual});
        {error, _} -> ok
    end.

victims({kill_child, Id}, Children) ->
    victims({kill_children, [Id]}, Children);
victims({kill_children, Ids}, Children) when is_list(Ids) ->
    [victim(Id, Children) || Id <- dedupe(Ids)];
victims({cascade_failure, Id}, Children) ->
    _ = victim(Id, Children),
    lists:dropwhile(fun({I, _}) -> I =/= Id end, Children);
victims(Other, _Children) ->
    supertester_lib:bad_arg(scenario, Other,
                            "{kill_child, Id}, {kill_children, [Id]} or {cascade_failure, Id}").

%% Each id once, in the order given.
dedupe(Ids) ->
    lists:reverse(lists:foldl(fun(Id, Seen) ->
                                      case lists:member(Id, Seen) of
                                          true -> Seen;
                                          false -> [Id | Seen]
                                      end
                              end, [], Ids)).

victim(Id, Children) ->
    case lists:keyfind(Id, 1, Children) of
        {Id, Pid} when is_pid(Pid) -> {Id, Pid};
        {Id, _} -> supertester_lib:bad_arg(child, Id, "a running child");
        false -> supertester_lib:bad_arg(child, Id, "the id of one of the supervisor's children")
    end.

%% @doc Checks a supervision tree against `#{supervisor => Module,
%% strategy => Strategy, children => [{Id, Module} | {Id, Subtree}]}'.
%% Every key is optional; children are compared as a set of ids (the order
%% is not checked), each with its module or nested tree. Every difference
%% is reported at once, with its path from the root.
-spec assert_supervision_tree_structure(term(), map()) -> ok.
assert_supervision_tree_structure(SupRef, Expected) when is_map(Expected) ->
    Sup = supertester_lib:resolve_local_pid(supervisor, SupRef),
    case tree_diffs(Sup, Expected, []) of
        [] -> ok;
        Diffs ->
            supertester_lib:assertion_failed(
              assert_supervision_tree_structure,
              ["supervision tree differs from the expected structure:\n",
               [["  ", format_diff(D), "\n"] || D <- Diffs]],
              #{differences => Diffs})
    end;
assert_supervision_tree_structure(_SupRef, Expected) ->
    supertester_lib:bad_arg(expected, Expected,
                            "a map with supervisor, strategy and children").

tree_diffs(Sup, Expected, Path) ->
    module_diff(Sup, Expected, Path) ++ strategy_diff(Sup, Expected, Path) ++
        children_diffs(Sup, Expected, Path).

module_diff(Sup, #{supervisor := Module}, Path) ->
    case proc_lib:translate_initial_call(Sup) of
        {supervisor, Module, 1} -> [];
        {supervisor, Actual, 1} -> [{Path, supervisor, Module, Actual}];
        Other -> [{Path, supervisor, Module, Other}]
    end;
module_diff(_Sup, _Expected, _Path) ->
    [].

strategy_diff(Sup, #{strategy := Strategy}, Path) ->
    case supertester_sup:flags(Sup) of
        {ok, #{strategy := Strategy}} -> [];
        {ok, #{strategy := Actual}} -> [{Path, strategy, Strategy, Actual}];
        {error, Reason} -> [{Path, strategy, Strategy, {error, Reason}}]
    end;
strategy_diff(_Sup, _Expected, _Path) ->
    [].

children_diffs(Sup, #{children := ExpectedChildren}, Path) when is_list(ExpectedChildren) ->
    Actual = [{Id, {Pid, Type, Mods}} || {Id, Pid, Type, Mods} <- supervisor:which_children(Sup)],
    ExpectedIds = [child_id(C) || C <- ExpectedChildren],
    Missing = [{Path ++ [Id], missing_child, Id, absent} || Id <- ExpectedIds,
                                                           not lists:keymember(Id, 1, Actual)],
    Unexpected = [{Path ++ [Id], unexpected_child, absent, Id}
                  || {Id, _} <- Actual, not lists:member(Id, ExpectedIds)],
    Matched = lists:append([child_diffs(C, lists:keyfind(child_id(C), 1, Actual), Path)
                            || C <- ExpectedChildren]),
    Missing ++ Unexpected ++ Matched;
children_diffs(_Sup, #{children := Other}, _Path) ->
    supertester_lib:bad_arg(children, Other, "a list of {Id, Module} or {Id, Subtree}");
children_diffs(_Sup, _Expected, _Path) ->
    [].

child_id({Id, _}) -> Id;
child_id(Other) -> supertester_lib:bad_arg(children, Other, "{Id, Module} or {Id, Subtree}").

child_diffs(_Expected, false, _Path) ->
    [];
child_diffs({Id, Subtree}, {Id, {Pid, _Type, _Mods}}, Path) when is_map(Subtree) ->
    case is_pid(Pid) andalso supertester_sup:is_supervisor(Pid) of
        true -> tree_diffs(Pid, Subtree, Path ++ [Id]);
        false -> [{Path ++ [Id], supervisor_child, Subtree, Pid}]
    end;
child_diffs({Id, Module}, {Id, {Pid, _Type, Mods}}, Path) when is_atom(Module) ->
    case child_module(Pid, Mods) of
        Module -> [];
        Actual -> [{Path ++ [Id], module, Module, Actual}]
    end.

%% The module a child runs: a supervisor child's callback module, else the
%% first of the modules its child spec lists.
child_module(Pid, Mods) ->
    case is_pid(Pid) andalso proc_lib:translate_initial_call(Pid) of
        {supervisor, Module, 1} -> Module;
        _ ->
            case Mods of
                [Module | _] -> Module;
                dynamic -> dynamic;
                [] -> undefined
            end
    end.

format_diff({Path, missing_child, Id, _}) ->
    io_lib:format("~s: child ~s is missing", [path(Path), show(Id)]);
format_diff({Path, unexpected_child, _, Id}) ->
    io_lib:format("~s: child ~s is not expected", [path(Path), show(Id)]);
format_diff({Path, What, Expected, Actual}) ->
    io_lib:format("~s: ~s expected ~s, got ~s", [path(Path), What, show(Expected), show(Actual)]).

path([]) -> "root";
path(Ids) -> lists:join(" > ", [show(I) || I <- Ids]).

%% Elixir modules as Elixir writes them (MyApp.Worker, not
%% 'Elixir.MyApp.Worker'); everything else as Erlang prints it.
show(Atom) when is_atom(Atom) ->
    case atom_to_list(Atom) of
        "Elixir." ++ Name -> Name;
        _ -> io_lib:format("~0tp", [Atom])
    end;
show(Term) ->
    io_lib:format("~0tp", [Term]).

%% @doc Starts recording supervision events. The stop function returns
%% them in order: `{child_started, Id, Pid}', `{child_terminated, Id, Pid,
%% Reason}', `{child_restarted, Id, OldPid, NewPid}' and, when the
%% supervisor itself terminates, `{supervisor_terminated, Pid, Reason}'.
%% Options: `max_events' (default 100000).
-spec trace_supervision_events(term()) -> {ok, fun(() -> [supervision_event()])}.
trace_supervision_events(Sup) ->
    trace_supervision_events(Sup, []).

-spec trace_supervision_events(term(), supertester_lib:options()) ->
          {ok, fun(() -> [supervision_event()])}.
trace_supervision_events(SupRef, Opts) ->
    Trace = start_trace(SupRef, Opts),
    {ok, fun() -> maps:get(events, stop_trace(Trace)) end}.

%% @doc Starts a supervision trace and returns it, for {@link stop_trace/1}
%% (what {@link trace_supervision_events/2} does, with the latencies and
%% the session's counters kept).
-spec start_trace(term(), supertester_lib:options()) -> trace().
start_trace(SupRef, Opts0) ->
    Opts = supertester_lib:options(trace_supervision_events, Opts0, [max_events]),
    Sup = supertester_lib:resolve_local_pid(supervisor, SupRef),
    Children = supertester_sup:start_order(supervisor:which_children(Sup)),
    Map = [{pid_or_undefined(Pid), restart_type(Sup, Id)} || {Id, Pid} <- Children],
    case supertester_trace:start([Sup], #{events => [spawn, 'receive', exit],
                                          max_events => maps:get(max_events, Opts, 100000),
                                          max_message_bytes => 1024}) of
        {ok, Session} ->
            #{session => Session, supervisor => Sup,
              ids => list_to_tuple([Id || {Id, _} <- Children]), children => Map};
        {error, Reason} ->
            erlang:error({cannot_trace, Reason})
    end.

%% @doc Stops a trace and returns `#{events, restart_latency_ns,
%% restarted_at_ns, info}': the events as {@link trace_supervision_events/2}
%% gives them, the time from each restart's cause (the exit the supervisor
%% received) to the replacement's spawn, when each replacement was spawned
%% (`erlang:monotonic_time(nanosecond)'), and the trace session's counters.
-spec stop_trace(trace()) -> #{events := [supervision_event()],
                              restart_latency_ns := [non_neg_integer()],
                              restarted_at_ns := [integer()], info := map()}.
stop_trace(#{session := Session, supervisor := Sup, ids := Ids, children := Map}) ->
    %% Deaths that happened before the stop are part of the trace: let the
    %% supervisor handle them first (it lists no dead pid once it has).
    _ = supertester_lib:wait_until(fun() -> {settled(Sup), ok} end, ?SETTLE_TIMEOUT),
    #{events := Raw, info := Info} = supertester_trace:stop(Session),
    Derived = supertester_nif:supervision_derive(Sup, Map, Raw),
    Names = new_child_ids(Derived, tuple_size(Ids), Sup),
    Named = [name_event(E, Sup, Ids, Names) || E <- Derived],
    #{events => Named,
      restart_latency_ns => [L || {child_restarted, _, _, _, _, L} <- Derived],
      restarted_at_ns => [T || {child_restarted, _, _, _, T, _} <- Derived],
      info => Info}.

%% Whether the supervisor has handled every death: it is gone, or none of
%% the pids it lists is dead.
settled(Sup) ->
    case supertester_sup:children(Sup, 1000) of
        {ok, Children} -> lists:all(fun({_, P, _, _}) -> not is_pid(P) orelse is_process_alive(P) end,
                                    Children);
        {error, _} -> true
    end.

name_event({child_started, Index, Pid, _Time}, _Sup, Ids, Names) ->
    {child_started, id_of(Index, Ids, Names), Pid};
name_event({child_terminated, Index, Pid, Reason, _Time}, _Sup, Ids, Names) ->
    {child_terminated, id_of(Index, Ids, Names), Pid, Reason};
name_event({child_restarted, Index, Old, New, _Time, _Latency}, _Sup, Ids, Names) ->
    {child_restarted, id_of(Index, Ids, Names), Old, New};
name_event({supervisor_terminated, Reason, _Time}, Sup, _Ids, _Names) ->
    {supervisor_terminated, Sup, Reason}.

%% Children known when the trace started have their id; a child added
%% since is named after the supervisor's children now, through any of the
%% pids it had (the last one is usually the one still running).
id_of(Index, Ids, _Names) when Index < tuple_size(Ids) ->
    element(Index + 1, Ids);
id_of(Index, _Ids, Names) ->
    maps:get(Index, Names, undefined).

new_child_ids(Derived, Known, Sup) ->
    Pids = lists:foldl(fun({child_started, I, P, _}, Acc) when I >= Known -> add_pid(I, P, Acc);
                          ({child_restarted, I, _, P, _, _}, Acc) when I >= Known -> add_pid(I, P, Acc);
                          (_, Acc) -> Acc
                       end, #{}, Derived),
    case map_size(Pids) of
        0 -> #{};
        _ ->
            ById = case supertester_sup:children(Sup, 1000) of
                       {ok, Children} -> [{P, Id} || {Id, P, _, _} <- Children, is_pid(P)];
                       {error, _} -> []
                   end,
            maps:filtermap(fun(_I, Ps) ->
                                   case [Id || P <- Ps, {Q, Id} <- ById, Q =:= P] of
                                       [Id | _] -> {true, Id};
                                       [] -> false
                                   end
                           end, Pids)
    end.

add_pid(I, P, Acc) -> maps:update_with(I, fun(Ps) -> [P | Ps] end, [P], Acc).

pid_or_undefined(Pid) when is_pid(Pid) -> Pid;
pid_or_undefined(_) -> undefined.

restart_type(Sup, Id) ->
    try supervisor:get_childspec(Sup, Id) of
        {ok, #{restart := Restart}} -> Restart;
        _ -> permanent
    catch
        exit:_ -> permanent
    end.

%% @doc Waits until every child of the supervisor runs (no child is being
%% restarted, no listed pid is dead). Rechecks after each of the
%% supervisor's trace events; `{error, timeout}' after `Timeout' ms
%% (default 5000), `{error, supervisor_down}' as soon as the supervisor is
%% gone.
-spec wait_for_supervisor_stabilization(term()) -> ok | {error, timeout | supervisor_down}.
wait_for_supervisor_stabilization(Sup) ->
    wait_for_supervisor_stabilization(Sup, ?DEFAULT_TIMEOUT).

-spec wait_for_supervisor_stabilization(term(), timeout()) ->
          ok | {error, timeout | supervisor_down}.
wait_for_supervisor_stabilization(SupRef, Timeout) ->
    Deadline = supertester_lib:deadline(supertester_lib:check_timeout(timeout, Timeout)),
    Sup = supertester_lib:resolve_local_pid(supervisor, SupRef),
    Watch = supertester_recovery:watch(Sup),
    %% A supervisor that dies meanwhile will never be stable: say so at once.
    Check = fun() ->
                    case is_process_alive(Sup) of
                        true -> {stable(Sup, Deadline), ok};
                        false -> {true, supervisor_down}
                    end
            end,
    try supertester_recovery:await(Check, Watch, Deadline) of
        {ok, ok} -> ok;
        {ok, supervisor_down} -> {error, supervisor_down};
        {error, timeout} -> {error, timeout}
    after
        supertester_recovery:unwatch(Watch)
    end.

stable(Sup, Deadline) ->
    case supertester_sup:children(Sup, max(1, supertester_lib:remaining(Deadline))) of
        {ok, Children} ->
            lists:all(fun({_, Pid, _, _}) when is_pid(Pid) -> is_process_alive(Pid);
                         ({_, undefined, _, _}) -> true; % stopped, not restarting
                         ({_, _, _, _}) -> false % restarting
                      end, Children);
        {error, _} ->
            false
    end.

%% @doc How many children are running (`active' in
%% `supervisor:count_children/1').
-spec get_active_child_count(term()) -> non_neg_integer().
get_active_child_count(SupRef) ->
    Sup = supertester_lib:resolve_local_pid(supervisor, SupRef),
    proplists:get_value(active, supervisor:count_children(Sup)).
