%% @doc Section: the cost of tracing a process that receives 1,000,000
%% messages, and what each tracer still owes when the workload ends.
%%
%% One sender sends `{msg, I}' as fast as it can to one receiver, which
%% counts them; a run lasts from the first send to the receiver's last
%% receive. Variants, interleaved over the rounds (medians reported):
%% <ul>
%% <li>untraced;</li>
%% <li>floor: a NIF tracer whose `enabled/3' discards every event
%%     (bench_empty_nif): the VM's own cost of the trace hook;</li>
%% <li>call floor: the same NIF tracer letting every event through to a
%%     `trace/5' that does nothing: what the VM spends handing an event to
%%     any tracer that keeps it;</li>
%% <li>supertester: a supertester_trace session storing every event
%%     (term, pid, timestamp) in its C ring, large enough for all;</li>
%% <li>process tracer counting: `erlang:trace' with a pid tracer that only
%%     counts its trace messages;</li>
%% <li>process tracer storing: a pid tracer that keeps every trace message.</li>
%% </ul>
%% Backlog: events produced but not yet handled by the tracer when the
%% receiver is done (a process tracer's queue length; for the C tracer the
%% events offered but not in the ring, always 0 since it stores on the
%% traced side). The process tracers are then drained before the next run.
-module(bench_trace).

-export([run/0]).

-define(MESSAGES, 1000000).
-define(ROUNDS, 5).
-define(VARIANTS, [untraced, floor, call_floor, supertester, pid_counting, pid_storing]).

run() ->
    io:format("~n== Tracing a process receiving ~b messages ==~n~n", [?MESSAGES]),
    case code:ensure_loaded(bench_empty_nif) of
        {module, _} -> ok;
        Error ->
            io:format("  bench_empty_nif is not loadable (~p): build it with make -C bench~n",
                      [Error]),
            exit(no_empty_nif)
    end,
    _ = run_variant(untraced), % warm up
    Rounds = [maps:from_list([{V, run_variant(V)} || V <- bench_lib:rotate(?VARIANTS, R rem length(?VARIANTS))])
              || R <- lists:seq(1, ?ROUNDS)],
    Median = fun(V, Key) -> bench_lib:median([maps:get(Key, maps:get(V, Round)) || Round <- Rounds]) end,
    io:format("  ~b rounds, variants interleaved; medians~n", [?ROUNDS]),
    io:format("  ~-36s ~12s ~10s ~12s~n", [variant, "msgs/s", "ms", "backlog"]),
    [io:format("  ~-36s ~12s ~10.1f ~12b~n",
               [label(V), bench_lib:thousands(round(?MESSAGES / (Median(V, us) / 1.0e6))),
                Median(V, us) / 1000, round(Median(V, backlog))])
     || V <- ?VARIANTS],
    %% Ratios are taken within each round (the variants of a round run
    %% back to back), then their median: drifts in the machine's load
    %% cancel out.
    Ratio = fun(A, B) -> bench_lib:median([maps:get(us, maps:get(A, Round)) / maps:get(us, maps:get(B, Round))
                                 || Round <- Rounds])
            end,
    OursToFloor = Ratio(supertester, floor),
    StoringToOurs = Ratio(pid_storing, supertester),
    io:format("~n  medians of the per-round ratios:~n"),
    io:format("  supertester / floor time = ~.2fx (untraced / floor = ~.2fx)~n",
              [OursToFloor, Ratio(untraced, floor)]),
    io:format("  call floor / floor = ~.2fx: the VM's part; supertester / call floor = ~.2fx: ours~n",
              [Ratio(call_floor, floor), Ratio(supertester, call_floor)]),
    io:format("  storing process tracer / supertester time = ~.2fx; counting one = ~.2fx~n",
              [StoringToOurs, Ratio(pid_counting, supertester)]),
    %% Every message of both passes, plus the two that start them.
    Complete = lists:all(fun(Round) ->
                                 #{stored := Stored} = maps:get(supertester, Round),
                                 Stored =:= 2 * ?MESSAGES + 2
                         end, Rounds),
    [{target, "storing tracer within 1.5x of the discarding floor", OursToFloor =< 1.5},
     {target, "faster than a process tracer that stores events", StoringToOurs > 1},
     {target, "no backlog when the workload ends", Median(supertester, backlog) == 0},
     {check, "the C tracer stored every message of every run", Complete}].

label(untraced) -> "untraced";
label(floor) -> "floor: NIF tracer discarding all";
label(call_floor) -> "call floor: empty trace/5 for all";
label(supertester) -> "supertester C tracer, storing";
label(pid_counting) -> "process tracer, counting";
label(pid_storing) -> "process tracer, storing".

run_variant(Variant) ->
    Receiver = spawn_receiver(),
    Tracer = start_tracer(Variant, Receiver),
    %% A warm-up pass through the same receiver and tracer first: the C
    %% ring's pages are touched (they come lazily from the kernel) and the
    %% process tracers' heaps grown, so the measured pass compares tracing,
    %% not first-touch page faults.
    _ = pass(Receiver),
    settle(Variant, Tracer),
    Us = pass(Receiver),
    Result = finish_tracer(Variant, Tracer, Receiver),
    Receiver ! stop,
    maps:merge(#{us => Us}, Result).

%% One pass: ?MESSAGES messages from a sender to the receiver; the time
%% from the first send to the last receive, in us.
pass(Receiver) ->
    Done = make_ref(),
    Receiver ! {go, self(), Done},
    T0 = erlang:monotonic_time(microsecond),
    sender(Receiver, ?MESSAGES),
    receive {Done, ?MESSAGES} -> ok end,
    erlang:monotonic_time(microsecond) - T0.

spawn_receiver() ->
    spawn(fun receiver/0).

receiver() ->
    receive
        {go, From, Done} -> receive_loop(From, Done, 0);
        stop -> ok
    end.

receive_loop(From, Done, ?MESSAGES) ->
    From ! {Done, ?MESSAGES},
    receiver();
receive_loop(From, Done, N) ->
    receive {msg, _} -> receive_loop(From, Done, N + 1) end.

%% The sending loop runs in a process of its own, on the other scheduler.
sender(Receiver, N) ->
    spawn(fun() -> send_loop(Receiver, N) end).

send_loop(_Receiver, 0) -> ok;
send_loop(Receiver, N) ->
    Receiver ! {msg, N},
    send_loop(Receiver, N - 1).

%% Between the passes: the C ring drained, the process tracers caught up
%% and emptied.
settle(supertester, Session) ->
    _ = supertester_trace:drain(Session),
    ok;
settle(Kind, Tracer) when Kind =:= pid_counting; Kind =:= pid_storing ->
    Ref = make_ref(),
    Tracer ! {reset, self(), Ref},
    receive {Ref, reset} -> ok end;
settle(_Variant, _Tracer) ->
    ok.

start_tracer(untraced, _Receiver) ->
    none;
start_tracer(floor, Receiver) ->
    1 = erlang:trace(Receiver, true, ['receive', {tracer, bench_empty_nif, []}]),
    none;
start_tracer(call_floor, Receiver) ->
    1 = erlang:trace(Receiver, true, ['receive', {tracer, bench_empty_nif, trace}]),
    none;
start_tracer(supertester, Receiver) ->
    {ok, Session} = supertester_trace:start([Receiver],
                                            #{events => ['receive'], max_events => 0,
                                              capacity => ?MESSAGES + 2}),
    Session;
start_tracer(Kind, Receiver) when Kind =:= pid_counting; Kind =:= pid_storing ->
    Tracer = spawn(fun() -> pid_tracer(Kind, 0, []) end),
    1 = erlang:trace(Receiver, true, ['receive', {tracer, Tracer}]),
    Tracer.

finish_tracer(untraced, none, _Receiver) ->
    #{backlog => 0};
finish_tracer(Floor, none, Receiver) when Floor =:= floor; Floor =:= call_floor ->
    erlang:trace(Receiver, false, ['receive']),
    #{backlog => 0};
finish_tracer(supertester, Session, _Receiver) ->
    #{offered := Offered, stored := Stored} = supertester_trace:info(Session),
    Backlog = Offered - Stored,
    _ = supertester_trace:stop(Session),
    #{backlog => Backlog, stored => Stored};
finish_tracer(_PidTracer, Tracer, Receiver) ->
    {message_queue_len, Backlog} = process_info(Tracer, message_queue_len),
    erlang:trace(Receiver, false, ['receive']),
    Ref = make_ref(),
    Tracer ! {done, self(), Ref},
    receive {Ref, _Count} -> ok end,
    #{backlog => Backlog}.

pid_tracer(Kind, Count, Kept) ->
    receive
        {done, From, Ref} -> From ! {Ref, Count};
        {reset, From, Ref} -> From ! {Ref, reset}, pid_tracer(Kind, 0, []);
        Event when Kind =:= pid_counting, element(1, Event) =:= trace ->
            pid_tracer(Kind, Count + 1, Kept);
        Event when element(1, Event) =:= trace ->
            pid_tracer(Kind, Count + 1, [Event | Kept])
    end.

