%% @doc Section: how soon a recovery check sees a restart.
%%
%% A one_for_one supervisor runs one registered worker, which writes the
%% monotonic time at the start of its init/1 to a public ETS table. Each
%% sample kills the worker and asks whether it recovered; the latency is
%% the time from the new worker's start to the check returning true.
%% Compared: supertester_crash:'recovered?'/3 (the supervisor's trace events
%% wake the check) against a loop that looks the name up every 50 ms, as
%% LetItCrash's default interval does.
%%
%% This module is both the supervisor's and the worker's callback module
%% (init/1 tells them apart by its argument).
-module(bench_recovery).

-export([run/0]).
-export([init/1, handle_call/3, handle_cast/2, start_worker/1]).

-define(NAME, bench_recovery_worker).
-define(SAMPLES_EVENTS, 300).
-define(SAMPLES_POLLING, 20).
-define(POLL_MS, 50).

run() ->
    io:format("~n== Recovery detection: trace events vs a 50 ms polling loop ==~n~n"),
    %% Every kill makes a supervisor report: keep them off the output.
    bench_lib:quietly(fun measure/0).

measure() ->
    Tab = ets:new(bench_recovery, [public, set]),
    Parent = self(),
    Holder = spawn(fun() ->
                           {ok, Sup} = supervisor:start_link(?MODULE, {sup, Tab}),
                           Parent ! {sup, Sup},
                           receive stop -> ok end
                   end),
    Sup = receive {sup, S} -> S end,
    _ = [sample(events, Tab) || _ <- lists:seq(1, 20)], % warm up
    EventSamples = [sample(events, Tab) || _ <- lists:seq(1, ?SAMPLES_EVENTS)],
    Events = [L || {_, L} <- EventSamples],
    Woken = [L || {event, L} <- EventSamples],
    Polling = [L || {_, L} <- [sample(polling, Tab) || _ <- lists:seq(1, ?SAMPLES_POLLING)]],
    unlink(Sup),
    Holder ! stop,
    io:format("  ~-40s ~8s ~12s ~12s~n", [method, samples, "median us", "p99 us"]),
    Line = fun(Label, Xs) ->
                   io:format("  ~-40s ~8b ~12.1f ~12.1f~n",
                             [Label, length(Xs), pct(Xs, 50), pct(Xs, 99)])
           end,
    Line("recovered?/3 on trace events", Events),
    Line("  of which the restart was not yet done", Woken),
    Line("whereis every 50 ms (LetItCrash default)", Polling),
    io:format("~n  (the other ~b samples found the restart done at the first look)~n",
              [length(Events) - length(Woken)]),
    io:format("  median: polling / events = ~.1fx~n", [pct(Polling, 50) / max(pct(Events, 50), 0.001)]),
    [{target, "median recovery detection under 100 us", pct(Events, 50) < 100},
     {target, "events detect faster than 50 ms polling", pct(Events, 50) < pct(Polling, 50)},
     {check, "every sample saw the restart", lists:all(fun is_number/1, Events ++ Polling)}].

%% One kill and one detection: {How, LatencyUs}. How is `event' when the
%% restart was not done when the check began (the check had to wait for
%% it), else `done'; the latency is never below 0 (when the restart was
%% done first, it is the cost of the check alone).
sample(Method, Tab) ->
    Old = whereis(?NAME),
    ok = supertester_crash:crash(Old, kill),
    How = case whereis(?NAME) of
              New when is_pid(New), New =/= Old -> done;
              _ -> event
          end,
    true = detect(Method, Old),
    Returned = erlang:monotonic_time(nanosecond),
    [{started, Started}] = ets:lookup(Tab, started),
    {How, max(0, Returned - Started) / 1000}.

detect(events, Old) ->
    supertester_crash:'recovered?'(?NAME, Old, [{timeout, 5000}]);
detect(polling, Old) ->
    poll(Old).

poll(Old) ->
    case whereis(?NAME) of
        Pid when is_pid(Pid), Pid =/= Old -> true;
        _ -> receive after ?POLL_MS -> poll(Old) end
    end.

pct(Xs, P) ->
    Sorted = lists:sort(Xs),
    N = length(Sorted),
    lists:nth(max(1, min(N, round(P / 100 * N))), Sorted).

%% supervisor and gen_server callbacks
init({sup, Tab}) ->
    {ok, {#{strategy => one_for_one, intensity => 1000000, period => 1},
          [#{id => worker, start => {?MODULE, start_worker, [Tab]}}]}};
init({worker, Tab}) ->
    true = ets:insert(Tab, {started, erlang:monotonic_time(nanosecond)}),
    {ok, Tab}.

start_worker(Tab) ->
    gen_server:start_link({local, ?NAME}, ?MODULE, {worker, Tab}, []).

handle_call(_Request, _From, State) -> {reply, ok, State}.
handle_cast(_Msg, State) -> {noreply, State}.
