%% @doc Section: killing children and confirming their restarts, on a
%% one_for_one supervisor of 1,000 children.
%%
%% Each round kills every child once, back to back, and returns when every
%% one has been restarted:
%% <ul>
%% <li>supertester: `supertester_chaos:replay/3' of a plan killing each
%%     child at time 0, with everything its report holds (the supervisor
%%     traced, the restarts rebuilt in C, the timeline, the wait for the
%%     supervisor to settle);</li>
%% <li>plain loop: `exit(Pid, kill)' for each child, then
%%     `which_children' until no child has its old pid, as a hand-written
%%     test would confirm the restarts.</li>
%% </ul>
%% Variants alternate over the rounds; medians reported: kills confirmed per
%% second, and the report's overhead as the ratio of the two times.
-module(bench_chaos).

-export([run/0]).
-export([init/1, start_child/0, child_loop/0]).

-define(CHILDREN, 1000).
-define(ROUNDS, 5).

run() ->
    io:format("~n== Chaos: kill and confirm the restart of 1,000 children ==~n~n"),
    bench_lib:quietly(fun measure/0).

measure() ->
    Parent = self(),
    Holder = spawn(fun() ->
                           {ok, Sup} = supervisor:start_link(?MODULE, sup),
                           Parent ! {sup, Sup},
                           receive stop -> ok end
                   end),
    Sup = receive {sup, S} -> S end,
    Actions = [{0, I, 0} || I <- lists:seq(0, ?CHILDREN - 1)],
    _ = round(supertester, Sup, Actions), % warm up
    _ = round(plain, Sup, Actions),
    Rounds = [maps:from_list([{V, round(V, Sup, Actions)}
                              || V <- case R rem 2 of 0 -> [supertester, plain];
                                                      1 -> [plain, supertester] end])
              || R <- lists:seq(1, ?ROUNDS)],
    unlink(Sup),
    Holder ! stop,
    Us = fun(V) -> bench_lib:median([element(1, maps:get(V, Round)) || Round <- Rounds]) end,
    Ours = Us(supertester),
    Plain = Us(plain),
    io:format("  ~-44s ~12s ~14s~n", [variant, "ms", "kills/s"]),
    [io:format("  ~-44s ~12.1f ~14s~n", [Label, T / 1000, bench_lib:thousands(round(?CHILDREN / (T / 1.0e6)))])
     || {Label, T} <- [{"supertester replay (report, trace, timeline)", Ours},
                       {"plain exit/2 loop + which_children", Plain}]],
    Overhead = bench_lib:median([element(1, maps:get(supertester, R)) / element(1, maps:get(plain, R))
                       || R <- Rounds]),
    io:format("~n  supertester / plain loop = ~.2fx (median of per-round ratios)~n", [Overhead]),
    AllConfirmed = lists:all(fun(R) -> element(2, maps:get(supertester, R)) =:= ?CHILDREN end,
                             Rounds),
    [{check, "every kill of every round was seen restarted in the report", AllConfirmed},
     {target, "the report costs at most 2x a plain loop", Overhead =< 2.0}].

%% {Microseconds, RestartsConfirmed}
round(supertester, Sup, Actions) ->
    T0 = erlang:monotonic_time(microsecond),
    #{restarted := Restarted} = supertester_chaos:replay(Sup, Actions, [{seed, 1}]),
    {erlang:monotonic_time(microsecond) - T0, Restarted};
round(plain, Sup, _Actions) ->
    T0 = erlang:monotonic_time(microsecond),
    Old = [P || {_, P, _, _} <- supervisor:which_children(Sup)],
    _ = [exit(P, kill) || P <- Old],
    confirm(Sup, sets:from_list(Old, [{version, 2}])),
    {erlang:monotonic_time(microsecond) - T0, ?CHILDREN}.

confirm(Sup, Old) ->
    Children = supervisor:which_children(Sup),
    case [P || {_, P, _, _} <- Children, not is_pid(P) orelse sets:is_element(P, Old)] of
        [] -> ok;
        _ -> confirm(Sup, Old)
    end.

%% The supervisor and its children.
init(sup) ->
    {ok, {#{strategy => one_for_one, intensity => 1000000, period => 1},
          [#{id => I, start => {?MODULE, start_child, []}} || I <- lists:seq(1, ?CHILDREN)]}}.

start_child() ->
    {ok, proc_lib:spawn_link(?MODULE, child_loop, [])}.

child_loop() ->
    receive _ -> child_loop() end.
