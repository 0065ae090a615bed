%% @doc Section: measure_mailbox_growth against the 10 ms poller of 0.5.1.
%%
%% A burst is N casts to a gen_server followed by one call, which returns
%% once the server has handled them all. Each round runs the same burst
%% three ways, in a rotating order: unmeasured, under
%% supertester_performance:measure_mailbox_growth/2 (samples on the server's
%% scheduling events, at most every 100 us), and under a poller that reads
%% the queue length every 10 ms as 0.5.1 does. Reported: the median duration
%% of the burst each way (what watching costs the server) and the median
%% peak queue length each method saw (what it catches). The true peak lies
%% between the largest value seen and N.
%%
%% This module is also the gen_server of the bursts: each cast keeps the
%% last 100 items, as a bounded log would.
-module(bench_mailbox).
-behaviour(gen_server).

-export([run/0]).
-export([init/1, handle_call/3, handle_cast/2]).

-define(ROUNDS, 9).
-define(BURSTS, [2000, 20000]).

run() ->
    io:format("~n== Mailbox growth: event-driven sampling vs a 10 ms poller ==~n~n"),
    {ok, Server} = gen_server:start_link(?MODULE, [], []),
    _ = burst(Server, 20000), % warm up the server's heap and the code
    io:format("  ~b rounds per burst size, variants interleaved; medians~n", [?ROUNDS]),
    io:format("  ~7s  ~-34s ~10s ~10s ~8s~n", [casts, variant, "burst ms", "peak seen", samples]),
    Results = lists:append([burst_size(Server, N) || N <- ?BURSTS]),
    gen_server:stop(Server),
    Results.

burst_size(Server, Casts) ->
    Variants = [plain, supertester, poller],
    Rounds = [begin
                  Order = bench_lib:rotate(Variants, R rem length(Variants)),
                  maps:from_list([{V, run_variant(V, Server, Casts)} || V <- Order])
              end || R <- lists:seq(1, ?ROUNDS)],
    Median = fun(V, Key) -> bench_lib:median([maps:get(Key, maps:get(V, Round)) || Round <- Rounds]) end,
    [io:format("  ~7b  ~-34s ~10.2f ~10s ~8s~n",
               [Casts, label(V), Median(V, ms),
                case V of plain -> "-"; _ -> integer_to_list(round(Median(V, peak))) end,
                case V of plain -> "-"; _ -> integer_to_list(round(Median(V, samples))) end])
     || V <- Variants],
    Plain = Median(plain, ms),
    Ours = Median(supertester, ms),
    Polled = Median(poller, ms),
    SeenOurs = Median(supertester, peak),
    SeenPolled = Median(poller, peak),
    io:format("  ~7b  burst duration: supertester / unmeasured = ~.2fx, poller / unmeasured = ~.2fx~n",
              [Casts, Ours / Plain, Polled / Plain]),
    io:format("  ~7b  peak seen: supertester / poller = ~.1fx~n~n",
              [Casts, SeenOurs / max(SeenPolled, 1)]),
    Consistent = lists:all(fun(Round) ->
                                   #{report := Report} = maps:get(supertester, Round),
                                   maps:get(final_size, Report) =:= 0 andalso
                                       maps:get(max_size, Report) =< Casts
                           end, Rounds),
    [{target, io_lib:format("~b casts: watching costs at most 1.25x the burst's duration", [Casts]),
      Ours =< 1.25 * Plain},
     {target, io_lib:format("~b casts: peak seen at least the poller's", [Casts]),
      SeenOurs >= SeenPolled},
     {check, io_lib:format("~b casts: reports end empty and never exceed the casts sent", [Casts]),
      Consistent}].

label(plain) -> "unmeasured";
label(supertester) -> "supertester (scheduling events)";
label(poller) -> "10 ms poller, as in 0.5.1".

run_variant(plain, Server, Casts) ->
    {Micros, _} = timer:tc(fun() -> burst(Server, Casts) end),
    #{ms => Micros / 1000};
run_variant(supertester, Server, Casts) ->
    {Micros, Report} = timer:tc(fun() ->
                                        supertester_performance:measure_mailbox_growth(
                                          Server, fun() -> burst(Server, Casts) end)
                                end),
    #{ms => Micros / 1000, peak => maps:get(max_size, Report),
      samples => maps:get(samples, Report), report => Report};
run_variant(poller, Server, Casts) ->
    {Micros, {Peak, Samples}} = timer:tc(fun() -> poll_every_10ms(Server, Casts) end),
    #{ms => Micros / 1000, peak => Peak, samples => Samples}.

burst(Server, Casts) ->
    [gen_server:cast(Server, {item, N}) || N <- lists:seq(1, Casts)],
    gen_server:call(Server, count, infinity).

%% 0.5.1's sampling: the queue length at the start, every 10 ms, and at the
%% end.
poll_every_10ms(Server, Casts) ->
    Len = fun() -> element(2, process_info(Server, message_queue_len)) end,
    Caller = self(),
    Poller = spawn_link(fun() -> poll_loop(Len, Caller, [Len()]) end),
    _ = burst(Server, Casts),
    Poller ! stop,
    Samples = receive {samples, S} -> [Len() | S] end,
    {lists:max(Samples), length(Samples)}.

poll_loop(Len, Caller, Samples) ->
    receive
        stop -> Caller ! {samples, Samples}
    after 10 ->
            poll_loop(Len, Caller, [Len() | Samples])
    end.


%% gen_server callbacks: a bounded log.
init([]) -> {ok, {0, []}}.

handle_call(count, _From, State = {Count, _}) -> {reply, Count, State}.

handle_cast({item, Item}, {Count, Items}) ->
    {noreply, {Count + 1, lists:sublist([Item | Items], 100)}}.
