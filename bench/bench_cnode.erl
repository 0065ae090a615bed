%% @doc Section: gen_server calls into a live node, from the C-node against
%% from an Erlang peer node.
%%
%% A factory node runs the example application. The same calls
%% (`factory_counter', `ping') are made to it from two clients, side by
%% side in this run: `priv/bin/supertester bench' (the C-node: hidden node,
%% ei, one libuv loop) and a second Erlang node making
%% `gen_server:call({factory_counter, Node}, ping)' over distribution, the
%% alternative a user would pick. Each client first warms up, then makes
%% ?CALLS calls with one caller (latency: median and p99; ?ROUNDS rounds,
%% alternating, the median round shown) and with ?CALLERS callers
%% (throughput). Latencies are taken around each call on the
%% client's side: from the C-node's histogram (3 significant digits), and
%% sorted exactly on the Erlang peer.
-module(bench_cnode).

-export([run/0, peer_calls/3]).

-define(CALLS, 20000).
-define(WARMUP, 2000).
-define(CALLERS, 8).
-define(ROUNDS, 3).

run() ->
    io:format("~n== C-node calls vs an Erlang peer node (gen_server:call over distribution) ==~n~n"),
    Root = os:getenv("SUPERTESTER_ROOT", "."),
    Cli = filename:join([Root, "priv", "bin", "supertester"]),
    Ebin = filename:join([Root, "_build", "examples", "factory", "ebin"]),
    [exit({missing, F}) || F <- [Cli, filename:join(Ebin, "factory.app")], not filelib:is_file(F)],
    Started = ensure_distributed(),
    Cookie = atom_to_list(erlang:get_cookie()),
    true = os:putenv("SUPERTESTER_COOKIE", Cookie),
    {ok, TargetPeer, Target} =
        peer:start_link(#{name => peer:random_name(bench_factory), connection => standard_io,
                          args => ["-pa", Ebin, "-setcookie", Cookie,
                                   "-kernel", "logger_level", "critical"]}),
    {ok, ClientPeer, _Client} =
        peer:start_link(#{name => peer:random_name(bench_client), connection => standard_io,
                          args => ["-pa", filename:dirname(code:which(?MODULE)),
                                   "-setcookie", Cookie]}),
    try
        {ok, _} = peer:call(TargetPeer, application, ensure_all_started, [factory]),
        compare(Cli, Target, ClientPeer)
    after
        peer:stop(ClientPeer),
        peer:stop(TargetPeer),
        Started andalso net_kernel:stop()
    end.

ensure_distributed() ->
    case node() of
        nonode@nohost ->
            {ok, _} = net_kernel:start([list_to_atom("bench_driver_" ++ os:getpid()), shortnames]),
            true;
        _ ->
            false
    end.

compare(Cli, Target, ClientPeer) ->
    _ = cnode(Cli, Target, 1, ?WARMUP),
    _ = peer:call(ClientPeer, ?MODULE, peer_calls, [Target, 1, ?WARMUP], infinity),
    %% Latency: rounds of one run each, alternating; the round with the
    %% median ratio is shown (the machine's load drifts between runs).
    Rounds = [begin
                  C = cnode(Cli, Target, 1, ?CALLS),
                  E = peer:call(ClientPeer, ?MODULE, peer_calls, [Target, 1, ?CALLS], infinity),
                  {maps:get(p50, C) / maps:get(p50, E), C, E}
              end || _ <- lists:seq(1, ?ROUNDS)],
    {_, C1, E1} = lists:nth((?ROUNDS + 1) div 2, lists:sort(Rounds)),
    CN = cnode(Cli, Target, ?CALLERS, ?CALLS),
    EN = peer:call(ClientPeer, ?MODULE, peer_calls, [Target, ?CALLERS, ?CALLS], infinity),
    io:format("  ~-34s ~8s ~10s ~10s ~12s~n", [client, calls, "median us", "p99 us", "calls/s"]),
    Line = fun(Label, #{calls := N, p50 := P50, p99 := P99, rate := Rate}) ->
                   io:format("  ~-34s ~8b ~10.1f ~10.1f ~12b~n",
                             [Label, N, P50 / 1000, P99 / 1000, round(Rate)])
           end,
    Line("C-node, 1 caller", C1),
    Line("Erlang peer, 1 caller", E1),
    Line(io_lib:format("C-node, ~b callers", [?CALLERS]), CN),
    Line(io_lib:format("Erlang peer, ~b callers", [?CALLERS]), EN),
    Median = maps:get(p50, C1) / maps:get(p50, E1),
    P99 = maps:get(p99, C1) / maps:get(p99, E1),
    Rate = maps:get(rate, CN) / maps:get(rate, EN),
    io:format("~n  C-node / Erlang peer: median ~.2fx, p99 ~.2fx (1 caller, median of ~b rounds: ~s); "
              "throughput ~.2fx (~b callers)~n",
              [Median, P99, ?ROUNDS, lists:join(", ", [io_lib:format("~.2fx", [R]) || {R, _, _} <- Rounds]),
               Rate, ?CALLERS]),
    [{target, "C-node median call latency at most 0.8x the Erlang peer's", Median =< 0.8},
     {check, "every C-node call answered",
      lists:all(fun(#{calls := N, errors := E}) -> N =:= ?CALLS andalso E =:= 0 end, [C1, CN])},
     {check, "every Erlang peer call answered",
      lists:all(fun(#{calls := N}) -> N =:= ?CALLS end, [E1, EN])}].

%% The CLI's bench, read from its JSON.
cnode(Cli, Target, Callers, Calls) ->
    Cmd = io_lib:format("'~s' bench ~s --server factory_counter --request ping --callers ~b "
                        "--calls ~b --json", [Cli, Target, Callers, Calls]),
    Out = os:cmd(lists:flatten(Cmd)),
    Num = fun(Key) ->
                  case re:run(Out, "\"" ++ Key ++ "\":([-0-9.e+]+)", [{capture, all_but_first, list}]) of
                      {match, [S]} -> to_number(S);
                      nomatch -> exit({cnode_bench_output, Out})
                  end
          end,
    #{calls => Num("calls"), errors => Num("errors"), p50 => Num("p50"), p99 => Num("p99"),
      rate => Num("throughput_per_s")}.

to_number(S) ->
    try list_to_integer(S) catch error:badarg -> list_to_float(S) end.

%% @doc On the Erlang client node: Callers processes share Calls calls to
%% the factory counter on Target; per-call latencies in nanoseconds.
peer_calls(Target, Callers, Calls) ->
    Server = {factory_counter, Target},
    Self = self(),
    Each = Calls div Callers,
    T0 = erlang:monotonic_time(nanosecond),
    Pids = [spawn_link(fun() -> Self ! {self(), call_loop(Server, Each, [])} end)
            || _ <- lists:seq(1, Callers)],
    Lats = lists:append([receive {P, L} -> L end || P <- Pids]),
    Elapsed = erlang:monotonic_time(nanosecond) - T0,
    Sorted = lists:sort(Lats),
    N = length(Sorted),
    #{calls => N, p50 => nth(Sorted, N, 50), p99 => nth(Sorted, N, 99),
      rate => N / (Elapsed / 1.0e9)}.

call_loop(_Server, 0, Acc) ->
    Acc;
call_loop(Server, K, Acc) ->
    T = erlang:monotonic_time(nanosecond),
    pong = gen_server:call(Server, ping),
    call_loop(Server, K - 1, [erlang:monotonic_time(nanosecond) - T | Acc]).

%% Nearest rank.
nth(Sorted, N, P) -> lists:nth(max(1, min(N, ceil(P * N / 100))), Sorted).
