%% @doc measure_mailbox_growth and assert_mailbox_stable: how long does a
%% process's message queue get while an operation runs?
%%
%% 0.5.1 polls the queue length every 10 ms, so a burst that comes and goes
%% between two polls is never seen. Here a sampler process follows the
%% target's scheduling instead: it traces the target's `running' events
%% (scheduled in, scheduled out) and reads the queue length on each one. A
%% queue can only grow by messages arriving, and an arriving message
%% schedules a waiting process in, so the samples follow the queue as it
%% moves. Samples are at least 100 us apart (events in between are drained),
%% which bounds what watching costs: `make bench' measures bursts of casts
%% taking 1.1 to 1.25 times as long watched as unwatched. The `sampling_interval'
%% (ms, default 10) remains as a backstop for a target that is not
%% scheduled at all (suspended, or stuck in a long NIF) while messages pile
%% up.
%%
%% A process has a single tracer. When the target is already traced by
%% someone else, Supertester leaves that tracing alone and falls back to
%% sampling every `sampling_interval' ms (0: as fast as the sampler can).
%% The report says which way it sampled.
%%
%% Samples go to a bounded sampler from the C core: min, max and mean stay
%% exact however long the operation runs, and memory stays fixed.
%%
%% If the target dies during the operation, sampling stops, `final_size' is
%% 0 and `target' is `{down, Reason}'. The sampler dies with the caller, and
%% its tracing with it.
-module(supertester_mailbox).

-export([measure/3, assert_stable/2]).

-export_type([target/0, report/0]).

-type target() :: pid() | atom() | {global, term()} | {via, module(), term()}.
-type report() :: #{initial_size := non_neg_integer(),
                    final_size := non_neg_integer(),
                    max_size := non_neg_integer(),
                    avg_size := float(),
                    result := term(),
                    samples := pos_integer(),
                    sampling := events | interval,
                    target := alive | {down, term()}}.

-define(MEASURE_OPTIONS, [sampling_interval]).
-define(SAMPLER_CAPACITY, 4096).
%% Closest spacing of two samples taken on scheduling events.
-define(MIN_SAMPLE_GAP_US, 100).
%% Bound on waiting for the sampler's final report; it answers at once
%% unless the machine is badly overloaded.
-define(STOP_TIMEOUT_MS, 5000).

-spec measure(target(), fun(() -> term()), supertester_lib:options()) -> report().
measure(Target, Operation, Opts) ->
    Server = supertester_lib:resolve_local_pid(server, Target),
    _ = supertester_lib:check_fun(operation, Operation, 0),
    O = supertester_lib:options(measure_mailbox_growth, Opts, ?MEASURE_OPTIONS),
    Interval = supertester_lib:check_non_neg_integer(sampling_interval,
                                                     maps:get(sampling_interval, O, 10)),
    {ok, Series} = supertester_nif:sampler_new(?SAMPLER_CAPACITY),
    Initial = queue_len(Server),
    push(Series, Initial),
    {Sampler, Mode} = start_sampler(Server, Series, Interval),
    Result = try
                 Operation()
             catch
                 Class:Reason:Stack ->
                     _ = stop_sampler(Sampler),
                     erlang:raise(Class, Reason, Stack)
             end,
    ExitReason = stop_sampler(Sampler),
    {Final, TargetState} = case process_info(Server, message_queue_len) of
                               {message_queue_len, Len} -> {Len, alive};
                               undefined -> {0, {down, ExitReason}}
                           end,
    push(Series, Final),
    #{count := Count, max := Max, mean := Mean} = supertester_nif:sampler_stats(Series),
    #{initial_size => Initial,
      final_size => Final,
      max_size => round(Max),
      avg_size => Mean,
      result => Result,
      samples => Count,
      sampling => Mode,
      target => TargetState}.

-spec assert_stable(target(), supertester_lib:options()) -> ok.
assert_stable(Target, Opts) ->
    O = supertester_lib:options(assert_mailbox_stable, Opts,
                                [during, max_size | ?MEASURE_OPTIONS]),
    During = case maps:find(during, O) of
                 {ok, Fun} -> supertester_lib:check_fun(during, Fun, 0);
                 error -> supertester_lib:bad_arg(during, missing,
                                                  "the option during: the function to run while sampling")
             end,
    MaxSize = supertester_lib:check_non_neg_integer(max_size, maps:get(max_size, O, 100)),
    Report = measure(Target, During, maps:without([during, max_size], O)),
    case Report of
        #{max_size := Max} when Max =< MaxSize ->
            ok;
        #{max_size := Max, initial_size := I, final_size := F, avg_size := A, samples := N} ->
            Message = io_lib:format(
                        "Mailbox of ~0p grew to ~b messages, above the maximum of ~b.~n"
                        "Initial: ~b, final: ~b, max: ~b, average: ~s over ~b samples (~s).",
                        [Target, Max, MaxSize, I, F, Max, supertester_lib:format_number(A), N,
                         maps:get(sampling, Report)]),
            supertester_lib:assertion_failed(assert_mailbox_stable, Message,
                                             maps:without([result], Report#{max_allowed => MaxSize}))
    end.

queue_len(Pid) ->
    case process_info(Pid, message_queue_len) of
        {message_queue_len, Len} -> Len;
        undefined -> 0
    end.

push(Series, Len) ->
    ok = supertester_nif:sampler_push(Series, erlang:monotonic_time(microsecond), Len).

%% The sampler --------------------------------------------------------------

%% The caller monitors the sampler from its birth: if it dies, the caller
%% hears it instead of waiting.
start_sampler(Server, Series, Interval) ->
    Caller = self(),
    Ref = make_ref(),
    {Pid, Monitor} = spawn_monitor(fun() -> sampler_init(Caller, Ref, Server, Series, Interval) end),
    receive
        {Ref, started, Mode} ->
            {{Pid, Ref, Monitor}, Mode};
        {'DOWN', Monitor, process, Pid, Reason} ->
            erlang:error({mailbox_sampler_died, Reason})
    end.

%% Stops the sampler and returns the target's exit reason if it saw the
%% target die (noproc when it died before the sampler could watch it).
stop_sampler({Pid, Ref, Monitor}) ->
    Pid ! {Ref, stop},
    receive
        {Ref, stopped, ExitReason} ->
            erlang:demonitor(Monitor, [flush]),
            ExitReason;
        {'DOWN', Monitor, process, Pid, Reason} ->
            erlang:error({mailbox_sampler_died, Reason})
    after ?STOP_TIMEOUT_MS ->
            exit(Pid, kill),
            erlang:demonitor(Monitor, [flush]),
            erlang:error({mailbox_sampler_timeout, ?STOP_TIMEOUT_MS})
    end.

-record(sampler, {caller, caller_mon, ref, server, server_mon, series,
                  mode, timeout, exit_reason = noproc,
                  last_sample,       % monotonic us of the last sample
                  pending = false}). % events seen since the last sample

sampler_init(Caller, Ref, Server, Series, Interval) ->
    S0 = #sampler{caller = Caller, caller_mon = erlang:monitor(process, Caller),
                  ref = Ref, server = Server,
                  server_mon = erlang:monitor(process, Server),
                  series = Series,
                  %% The caller took the initial sample just now.
                  last_sample = erlang:monotonic_time(microsecond)},
    S = case start_tracing(Server) of
            true -> S0#sampler{mode = events, timeout = max(Interval, 1)};
            false -> S0#sampler{mode = interval, timeout = Interval}
        end,
    Caller ! {Ref, started, S#sampler.mode},
    sampler_loop(S).

%% Traces the target's scheduling unless someone else already traces it.
start_tracing(Server) ->
    case erlang:trace_info(Server, tracer) of
        {tracer, []} ->
            try erlang:trace(Server, true, [running]) of
                1 -> true;
                _ -> false
            catch
                error:badarg -> false % died meanwhile
            end;
        _ ->
            false
    end.

stop_tracing(#sampler{mode = events, server = Server}) ->
    Self = self(),
    case erlang:trace_info(Server, tracer) of
        {tracer, Self} ->
            try erlang:trace(Server, false, [running]) of
                _ -> ok
            catch
                error:badarg -> ok % the target died meanwhile
            end;
        _ ->
            ok
    end;
stop_tracing(_) ->
    ok.

sampler_loop(S = #sampler{ref = Ref, server = Server, server_mon = ServerMon,
                          caller = Caller, caller_mon = CallerMon}) ->
    receive
        {trace, Server, _InOrOut, _} ->
            drain_trace_events(Server),
            sampler_loop(sample_unless_too_soon(S#sampler{pending = true}));
        {'DOWN', ServerMon, process, Server, Reason} ->
            %% Nothing left to sample; wait for the caller to stop us.
            sampler_loop(S#sampler{exit_reason = Reason, timeout = infinity,
                                   pending = false});
        {Ref, stop} ->
            stop_tracing(S),
            Caller ! {Ref, stopped, S#sampler.exit_reason};
        {'DOWN', CallerMon, process, Caller, _} ->
            stop_tracing(S)
    after wait_ms(S) ->
            sampler_loop(sample(S))
    end.

%% Samples at most every MIN_SAMPLE_GAP_US: reading the queue length takes
%% the target's lock, and a sample per event would slow a busy target down.
%% A sample put off this way is taken at the next event or within 1 ms.
sample_unless_too_soon(S = #sampler{last_sample = Last}) ->
    case erlang:monotonic_time(microsecond) - Last >= ?MIN_SAMPLE_GAP_US of
        true -> sample(S);
        false -> S
    end.

wait_ms(#sampler{pending = true}) -> 1;
wait_ms(#sampler{timeout = Timeout}) -> Timeout.

drain_trace_events(Server) ->
    receive
        {trace, Server, _, _} -> drain_trace_events(Server)
    after 0 ->
            ok
    end.

sample(S = #sampler{server = Server, series = Series}) ->
    case process_info(Server, message_queue_len) of
        {message_queue_len, Len} -> push(Series, Len);
        undefined -> ok
    end,
    S#sampler{last_sample = erlang:monotonic_time(microsecond), pending = false}.
