%% @doc How a concurrent scenario runs (see {@link supertester_harness}).
%%
%% <ol>
%% <li>`setup' runs in the caller (so ExUnit's start_supervised and the
%%   process dictionary work there) and gives the subject.</li>
%% <li>Each thread script runs in its own process. A scheduler, the
%%   caller, hands out turns in an order drawn from the seed: a uniformly
%%   random interleaving of the scripts (C core, `st_chaos_interleave'). A
%%   thread takes its turn by sending its next operation and says so at
%%   once; the scheduler then gives the next turn. So operations still
%%   overlap (a thread waits for its reply while others send), but the
%%   order in which they reach the subject is the seed's, and the same seed
%%   replays it. A turn given to a thread still waiting for its previous
%%   reply waits for that reply first.</li>
%% <li>Calls go out with `gen_server:send_request' and wait up to
%%   `call_timeout_ms'; a cast is followed by a synchronising call (as
%%   `cast_and_sync' does) once its turn is over; a custom function takes
%%   its whole turn. Every operation's result is recorded, failures
%%   included (`{error, Reason}'), as in 0.5.1.</li>
%% <li>The chaos hook starts in its own process just before the step drawn
%%   from the seed (0: before any operation; the number of operations:
%%   after the last) and runs beside the threads; its report is awaited
%%   up to `timeout_ms' after them.</li>
%% <li>The invariant, then the cleanup, run in the caller.</li>
%% </ol>
%% Every process of the run is killed if the caller dies. Lifecycle events
%% go to {@link supertester_telemetry:emit/3}.
-module(supertester_harness_run).

-export([run/1]).

run(#{setup := Setup, metadata := Metadata0} = S) ->
    %% A seed drawn at random is printed on failure: the only way to replay it.
    {Seed, Drawn} = case maps:get(seed, S) of
                        undefined ->
                            {supertester_chaos:default_seed(),
                             supertester_chaos:configured_seed() =:= none};
                        Given ->
                            {Given, false}
                    end,
    Metadata = Metadata0#{scenario_id => erlang:unique_integer([positive]), seed => Seed},
    T0 = erlang:monotonic_time(millisecond),
    emit([concurrent, scenario, start], #{system_time => erlang:system_time()}, Metadata),
    Result = case invoke_setup(Setup) of
                 {ok, Subject, Ctx} ->
                     Run = try run_scenario(S, Subject, Ctx, Metadata, Seed, T0)
                           catch Class:Reason:Stack ->
                                   _ = cleanup(S, Subject, Ctx),
                                   erlang:raise(Class, Reason, Stack)
                           end,
                     with_cleanup(Run, cleanup(S, Subject, Ctx));
                 {error, _} = Error ->
                     Error
             end,
    Duration = erlang:monotonic_time(millisecond) - T0,
    case Result of
        {ok, _} ->
            emit([concurrent, scenario, stop], #{duration_ms => Duration, status => ok}, Metadata);
        {error, Why} ->
            Drawn andalso io:format(user, "~nconcurrent scenario ~b failed with the random seed ~b; "
                                    "pass seed: ~b to rerun it~n",
                                    [maps:get(scenario_id, Metadata), Seed, Seed]),
            emit([concurrent, scenario, stop], #{duration_ms => Duration, status => error},
                 Metadata#{error => Why})
    end,
    Result.

invoke_setup(Setup) ->
    try Setup() of
        {ok, Pid} when is_pid(Pid) -> {ok, Pid, #{}};
        {ok, Pid, Ctx} when is_pid(Pid), is_map(Ctx) -> {ok, Pid, Ctx};
        {error, _} = Error -> Error;
        Other -> {error, {invalid_setup_return, Other}}
    catch
        Class:Reason:Stack -> {error, {setup_failed, caught(Class, Reason, Stack)}}
    end.

%% ------------------------------------------------------------ measurement

%% The run, inside the mailbox measurement, inside the performance one
%% (the order of 0.5.1: the performance bounds cover the mailbox sampling).
run_scenario(S, Subject, Ctx, Metadata, Seed, T0) ->
    Core = fun() -> core(S, Subject, Ctx, Metadata, Seed, T0) end,
    WithMailbox = fun() -> with_mailbox(maps:get(mailbox, S), Subject, Metadata, Core) end,
    case with_performance(maps:get(performance_expectations, S), Metadata, WithMailbox) of
        {ok, {{ok, RunData, Chaos}, Mailbox}, Performance} ->
            finish(S, Subject, Ctx, Metadata, RunData, Chaos, Mailbox, Performance, T0);
        {ok, {{error, _} = Error, _Mailbox}, _Performance} ->
            Error;
        {error, _} = Error ->
            Error
    end.

with_mailbox(undefined, _Subject, _Metadata, Fun) ->
    {Fun(), undefined};
with_mailbox(Opts, Subject, Metadata, Fun) ->
    Report = supertester_mailbox:measure(Subject, Fun, Opts),
    Mailbox = maps:remove(result, Report),
    emit([concurrent, mailbox, sample], Mailbox, Metadata),
    {maps:get(result, Report), Mailbox}.

with_performance([], _Metadata, Fun) ->
    {ok, Fun(), undefined};
with_performance(Expectations, Metadata, Fun) ->
    Measurement = supertester_performance:measure_operation(Fun),
    Metrics = maps:with([time_us, memory_bytes, reductions], Measurement),
    try supertester_performance:assert_expectations(Measurement, Expectations) of
        ok ->
            emit([performance, scenario, measured], Metrics, Metadata),
            {ok, maps:get(result, Measurement), Metrics}
    catch
        error:{assertion_failed, _} = Failure ->
            {error, {performance_failed, #{error => Failure, measurement => Metrics}}}
    end.

%% ------------------------------------------------------------------ threads

core(S, Subject, SetupCtx, Metadata, Seed, T0) ->
    Threads = maps:get(threads, S),
    Rng = supertester_nif:chaos_rng_new(Seed),
    Schedule = supertester_nif:chaos_interleave(Rng, [length(T) || T <- Threads]),
    ChaosStep = case maps:get(chaos, S) of
                    undefined -> undefined;
                    _ -> supertester_nif:chaos_rng_between(Rng, 0, length(Schedule))
                end,
    Ref = make_ref(),
    Guard = guard(Ref),
    %% The threads write their events here (keyed by step order) rather
    %% than message them: the scheduler's mailbox holds only turns taken.
    Table = ets:new(supertester_harness_events, [public, set, {write_concurrency, true}]),
    Workers = [spawn_worker(Guard, Ref, fun() -> thread(Ref, I, Script, Subject, S, T0, Table) end)
               || {I, Script} <- lists:zip(lists:seq(0, length(Threads) - 1), Threads)],
    Run = #{ref => Ref, guard => Guard, workers => list_to_tuple(Workers), subject => Subject,
            threads => list_to_tuple(Threads),
            deadline => supertester_lib:deadline(maps:get(timeout_ms, S)), chaos_step => ChaosStep,
            chaos => maps:get(chaos, S), seed => Seed, schedule => Schedule,
            chaos_ctx => #{metadata => Metadata, setup_context => SetupCtx, seed => Seed,
                           started_at_step => ChaosStep}},
    Started = erlang:monotonic_time(millisecond),
    try
        case turns(Schedule, 0, Run, none, 0) of
            {ok, Chaos} ->
                RunData = run_data(events(Table), length(Threads),
                                   erlang:monotonic_time(millisecond) - Started, Run),
                case await_chaos(Chaos, maps:get(timeout_ms, S), Metadata) of
                    {ok, ChaosReport} -> {ok, RunData, ChaosReport};
                    {error, _} = Error -> Error
                end;
            {timeout, Chaos, Given} ->
                _ = stop_chaos(Chaos, Metadata),
                kill_workers(Run),
                Events = events(Table),
                {error, {timeout, #{seed => Seed, schedule => Schedule,
                                    completed => length(Events),
                                    in_flight => in_flight(Given, Run, Events),
                                    events => Events}}}
        end
    after
        release(Run),
        ets:delete(Table)
    end.

%% The events recorded, in step order.
events(Table) ->
    [E || {_, E} <- lists:keysort(1, ets:tab2list(Table))].

%% Gives each step's turn, in the schedule's order, and starts the chaos
%% at its step; then waits for every thread to finish. Done counts the
%% threads that finished.
turns([], Step, #{workers := Workers} = Run, Chaos0, Done) ->
    Chaos = maybe_chaos(Step, Run, Chaos0),
    case await_done(tuple_size(Workers) - Done, Run) of
        ok -> {ok, Chaos};
        timeout -> {timeout, Chaos, Step - 1}
    end;
turns([Thread | Rest], Step, #{ref := Ref, workers := Workers} = Run, Chaos0, Done0) ->
    Chaos = maybe_chaos(Step, Run, Chaos0),
    element(Thread + 1, Workers) ! {Ref, turn, Step},
    case await_issued(Thread, Run, Done0) of
        {ok, Done} -> turns(Rest, Step + 1, Run, Chaos, Done);
        timeout -> {timeout, Chaos, Step}
    end.

await_issued(Thread, #{ref := Ref, deadline := Deadline} = Run, Done) ->
    receive
        {Ref, issued, Thread} -> {ok, Done};
        {Ref, done, _} -> await_issued(Thread, Run, Done + 1)
    after supertester_lib:remaining(Deadline) ->
            timeout
    end.

await_done(0, _Run) ->
    ok;
await_done(Left, #{ref := Ref, deadline := Deadline} = Run) ->
    receive
        {Ref, done, _} -> await_done(Left - 1, Run)
    after supertester_lib:remaining(Deadline) ->
            timeout
    end.

%% Stuck threads are killed before their events are read: none is written
%% after the report is made.
kill_workers(#{workers := Workers}) ->
    _ = [begin
             Mon = erlang:monitor(process, W),
             exit(W, kill),
             receive {'DOWN', Mon, process, W, _} -> ok end
         end || W <- tuple_to_list(Workers)],
    ok.

%% The operations whose turn came (up to step Last) and whose event has
%% not: the one a thread is running or waiting on, and the one a thread
%% will send once its previous operation ends. [#{order, thread, step,
%% operation}].
in_flight(Last, #{schedule := Schedule, threads := Threads}, Events) ->
    Done = maps:from_keys([maps:get(order, E) || E <- Events], true),
    Steps = steps(Schedule, 0, #{}),
    [#{order => Order, thread => Thread, step => Step,
       operation => descriptor(lists:nth(Step + 1, element(Thread + 1, Threads)))}
     || {Order, Thread, Step} <- lists:sublist(Steps, Last + 1), not maps:is_key(Order, Done)].

%% [{Order, Thread, StepOfThatThread}] of a schedule.
steps([], _Order, _Seen) ->
    [];
steps([Thread | Rest], Order, Seen) ->
    Step = maps:get(Thread, Seen, 0),
    [{Order, Thread, Step} | steps(Rest, Order + 1, Seen#{Thread => Step + 1})].

%% One thread: waits for each turn, sends its operation, says it did, and
%% records the operation's event when it ends.
thread(Ref, Index, Script, Subject, S, T0, Table) ->
    Coordinator = receive {Ref, coordinator, C} -> C end,
    Issue = fun() -> Coordinator ! {Ref, issued, Index}, ok end,
    CastSync = cast_sync(Script, Subject, S),
    lists:foldl(
      fun(Op, Step) ->
              Order = receive {Ref, turn, O} -> O end,
              Start = erlang:monotonic_time(microsecond),
              Result = execute(Op, Subject, S, Issue, CastSync),
              End = erlang:monotonic_time(microsecond),
              true = ets:insert(Table, {Order, #{thread => Index, step => Step, order => Order,
                                                 operation => descriptor(Op), result => Result,
                                                 duration_ms => (End - Start) div 1000,
                                                 duration_us => End - Start,
                                                 timestamp_ms => Start div 1000 - T0}}),
              Step + 1
      end, 0, Script),
    Coordinator ! {Ref, done, Index},
    ok.

%% Sends the operation, calls Issued once it is sent (a custom function:
%% once it returned), and returns its result.
execute({call, Message}, Subject, #{call_timeout_ms := Timeout}, Issued, _CastSync) ->
    Request = gen_server:send_request(Subject, Message),
    Issued(),
    case gen_server:receive_response(Request, Timeout) of
        {reply, Reply} -> {ok, Reply};
        timeout -> {error, timeout};
        {error, {Reason, _Server}} -> {error, Reason}
    end;
execute({cast, Message}, Subject, _S, Issued, CastSync) ->
    ok = gen_server:cast(Subject, Message),
    Issued(),
    try CastSync() of
        ok -> {ok, ok};
        Other -> Other
    catch
        Class:Reason:Stack -> {error, caught(Class, Reason, Stack)}
    end;
execute({custom, Fun}, Subject, _S, Issued, _CastSync) ->
    Result = try {ok, Fun(Subject)}
             catch Class:Reason:Stack -> {error, caught(Class, Reason, Stack)}
             end,
    Issued(),
    Result.

%% How this thread waits for its casts to be handled, decided once before
%% its first turn (the subject's sync handler is looked up once); none
%% for a script without casts.
cast_sync(Script, Subject, S) ->
    case lists:keymember(cast, 1, Script) of
        true ->
            Opts = [{timeout, maps:get(call_timeout_ms, S)},
                    {'strict?', maps:get('strict_cast_sync?', S)}],
            supertester_genserver:cast_sync_fun(Subject, maps:get(cast_sync_message, S), Opts);
        false ->
            none
    end.

%% 0.5.1 reports a raised error as {Exception, Stacktrace}; exits and
%% throws are reported (not turned into a failed run) as {exit | throw, _}.
caught(error, Reason, Stack) -> {Reason, Stack};
caught(Class, Reason, _Stack) -> {Class, Reason}.

descriptor({custom, _}) -> custom;
descriptor(Op) -> Op.

run_data(Events, ThreadCount, Duration, #{seed := Seed, schedule := Schedule}) ->
    %% Events are in schedule order, so each thread's are in step order.
    Threads = [begin
                   Mine = [E || #{thread := T} = E <- Events, T =:= I],
                   #{thread => I, events => Mine, errors => errors(Mine)}
               end || I <- lists:seq(0, ThreadCount - 1)],
    #{events => Events,
      threads => Threads,
      seed => Seed,
      schedule => Schedule,
      metrics => #{duration_ms => Duration,
                   total_operations => length(Events),
                   thread_count => ThreadCount,
                   operation_errors => errors(Events)}}.

errors(Events) -> length([E || #{result := {error, _}} = E <- Events]).

%% ------------------------------------------------------------------- chaos

maybe_chaos(Step, #{chaos_step := Step, chaos := Hook, ref := Ref, guard := Guard,
                    subject := Subject, chaos_ctx := Ctx, deadline := Deadline}, none) ->
    emit([chaos, start], #{}, maps:get(metadata, Ctx)),
    Pid = spawn_worker(Guard, Ref,
                       fun() ->
                               Coordinator = receive {Ref, coordinator, C} -> C end,
                               Coordinator ! {Ref, chaos_started},
                               T = erlang:monotonic_time(millisecond),
                               Result = try {ok, Hook(Subject, Ctx)}
                                        catch Class:Reason:Stack -> {failed, caught(Class, Reason, Stack)}
                                        end,
                               Coordinator ! {Ref, chaos_done, Result,
                                              erlang:monotonic_time(millisecond) - T}
                       end),
    %% The hook is running before the step's operation is sent.
    receive {Ref, chaos_started} -> ok
    after supertester_lib:remaining(Deadline) -> ok
    end,
    #{pid => Pid, ref => Ref, step => Step, started => erlang:monotonic_time(millisecond)};
maybe_chaos(_Step, _Run, Chaos) ->
    Chaos.

await_chaos(none, _Timeout, _Metadata) ->
    {ok, undefined};
await_chaos(#{ref := Ref, step := Step} = Chaos, Timeout, Metadata) ->
    receive
        {Ref, chaos_done, {ok, Value}, Duration} ->
            emit([chaos, stop], #{duration_ms => Duration}, Metadata),
            {ok, #{result => Value, duration_ms => Duration, started_at_step => Step}};
        {Ref, chaos_done, {failed, Why}, Duration} ->
            emit([chaos, stop], #{duration_ms => Duration}, Metadata#{error => Why}),
            {error, {chaos_failed, Why}}
    after Timeout ->
            _ = stop_chaos(Chaos, Metadata),
            {error, {chaos_failed, timeout}}
    end.

stop_chaos(none, _Metadata) ->
    ok;
stop_chaos(#{pid := Pid, started := Started}, Metadata) ->
    exit(Pid, kill),
    emit([chaos, stop], #{duration_ms => erlang:monotonic_time(millisecond) - Started},
         Metadata#{error => timeout}).

%% ------------------------------------------------------------- processes

%% A process of the run: spawned unlinked (a thread killed by someone's
%% chaos must not take the caller with it), watched by the guard, and
%% told who coordinates once it exists.
spawn_worker(Guard, Ref, Fun) ->
    Pid = spawn(Fun),
    Guard ! {Ref, watch, Pid},
    Pid ! {Ref, coordinator, self()},
    Pid.

%% The guard kills the run's processes if the caller dies before the end.
guard(Ref) ->
    Caller = self(),
    spawn(fun() ->
                  Mon = erlang:monitor(process, Caller),
                  guard_loop(Ref, Mon, [])
          end).

guard_loop(Ref, Mon, Pids) ->
    receive
        {Ref, watch, Pid} -> guard_loop(Ref, Mon, [Pid | Pids]);
        {Ref, release} -> kill_all(Pids);
        {'DOWN', Mon, process, _, _} -> kill_all(Pids)
    end.

kill_all(Pids) ->
    _ = [exit(P, kill) || P <- Pids],
    ok.

%% At the end of the run: its processes are gone and no late message of
%% theirs stays in the caller's mailbox.
release(#{ref := Ref, guard := Guard}) ->
    Mon = erlang:monitor(process, Guard),
    Guard ! {Ref, release},
    receive {'DOWN', Mon, process, Guard, _} -> ok end,
    flush(Ref).

flush(Ref) ->
    receive
        {Ref, _} -> flush(Ref);
        {Ref, _, _} -> flush(Ref);
        {Ref, _, _, _} -> flush(Ref)
    after 0 -> ok
    end.

%% ---------------------------------------------------------- end of a run

finish(S, Subject, SetupCtx, Metadata, RunData, Chaos, Mailbox, Performance, T0) ->
    #{events := Events, threads := Threads, metrics := Metrics0, seed := Seed,
      schedule := Schedule} = RunData,
    Ctx = maps:merge(SetupCtx, #{events => Events, threads => Threads, metrics => Metrics0,
                                 metadata => Metadata, chaos => Chaos, mailbox => Mailbox,
                                 performance => Performance, seed => Seed,
                                 schedule => Schedule}),
    case invariant(maps:get(invariant, S), Subject, Ctx) of
        ok ->
            Metrics = Metrics0#{'mailbox_observed?' => Mailbox =/= undefined,
                                overall_duration_ms => erlang:monotonic_time(millisecond) - T0},
            {ok, #{events => Events, threads => Threads, metrics => Metrics,
                   mailbox => Mailbox, chaos => Chaos, performance => Performance,
                   metadata => Metadata, context => SetupCtx, seed => Seed,
                   schedule => Schedule}};
        {error, _} = Error ->
            Error
    end.

invariant(Invariant, Subject, Ctx) ->
    try Invariant(Subject, Ctx) of
        false -> {error, {invariant_failed, returned_false}};
        {error, Reason} -> {error, {invariant_failed, Reason}};
        _ -> ok
    catch
        Class:Reason:Stack -> {error, {invariant_failed, caught(Class, Reason, Stack)}}
    end.

cleanup(S, Subject, Ctx) ->
    Cleanup = case maps:get(cleanup, S) of
                  undefined -> fun default_cleanup/2;
                  Fun -> Fun
              end,
    try Cleanup(Subject, Ctx) of
        _ -> ok
    catch
        Class:Reason:Stack -> {error, caught(Class, Reason, Stack)}
    end.

default_cleanup(Subject, _Ctx) ->
    case is_process_alive(Subject) of
        true -> catch gen_server:stop(Subject, normal, 5000);
        false -> ok
    end.

with_cleanup(Result, ok) -> Result;
with_cleanup({ok, Report}, {error, Cleanup}) -> {error, {cleanup_failed, Cleanup, Report}};
with_cleanup({error, Reason}, {error, Cleanup}) -> {error, {cleanup_failed, Cleanup, Reason}}.

emit(Event, Measurements, Metadata) ->
    supertester_telemetry:emit(Event, Measurements, Metadata).
