%% @doc Chaos engineering with a seed (Supertester.ChaosHelpers): crash
%% injection, killing children, resource exhaustion, and checks that a
%% system recovers.
%%
%% Every random decision comes from the C core's generator (xoshiro256**)
%% seeded by one integer, and every kill plan is made from the seed, the
%% options and the children's start order (never their pids). The same
%% seed on the same tree kills the same children in the same order:
%%
%% ```
%% #{seed := 42, plan := Plan} = supertester_chaos:chaos_kill_children(Sup, [{seed, 42}]),
%% #{plan := Plan} = supertester_chaos:chaos_kill_children(Sup, [{seed, 42}]).
%% '''
%%
%% Guard rails: the VM's own processes (applications kernel and stdlib,
%% the toolkit's) are never targets unless `allow_system' is true; a run
%% kills at most `max_kills' (default 1000) children; with
%% `respect_intensity' a run stops short of the supervisor's restart
%% intensity instead of pushing it past.
-module(supertester_chaos).

-export([inject_crash/2, inject_crash/3,
         chaos_kill_children/1, chaos_kill_children/2,
         replay/3, minimize/2, run_chaos_suite/2, run_chaos_suite/3,
         simulate_resource_exhaustion/1, simulate_resource_exhaustion/2,
         assert_chaos_resilient/3, assert_chaos_resilient/4,
         default_seed/0, configured_seed/0, kill_options/0, check_crash_spec/1,
         rerun_hint/1]).

-export_type([chaos_report/0]).

-type chaos_report() :: #{killed := non_neg_integer(), restarted := non_neg_integer(),
                          supervisor_crashed := boolean(), duration_ms := non_neg_integer(),
                          seed := non_neg_integer(), plan := binary(),
                          timeline := [map()]}.

%% Processes of the VM that no application owns, refused as targets.
-define(SYSTEM_NAMES, [init, code_server, application_controller, erl_prim_loader, user,
                       standard_error, logger, socket_registry, erts_code_purger,
                       supertester_janitor]).

-define(KILL_OPTIONS, [kill_rate, duration_ms, kill_interval_ms, kill_reason, seed,
                       jitter_pct, max_kills, respect_intensity, allow_system, recovery_timeout]).

%% ------------------------------------------------------------ inject_crash

-spec inject_crash(pid() | atom(), term()) -> ok.
inject_crash(Target, Spec) ->
    inject_crash(Target, Spec, []).

%% @doc Crashes a process: `immediate', `{after_ms, Ms}' (from a timer
%% process that gives up if the caller dies first), or `{random, P}' (with
%% probability P, drawn from the seed: option `seed', else
%% {@link default_seed/0}). Option `reason' (default `chaos_injection').
-spec inject_crash(pid() | atom(), term(), supertester_lib:options()) -> ok.
inject_crash(Target, Spec, Opts0) ->
    Opts = supertester_lib:options(inject_crash, Opts0, [reason, seed, allow_system]),
    check_crash_spec(Spec),
    case is_pid(Target) andalso node(Target) =:= node() andalso not is_process_alive(Target) of
        true -> ok; % already dead: nothing to crash (as in 0.5.1)
        false -> crash_live(supertester_lib:resolve_local_pid(target, Target), Spec, Opts)
    end.

%% @doc Raises badarg unless `Spec' is a crash spec of {@link inject_crash/3}.
-spec check_crash_spec(term()) -> ok.
check_crash_spec(immediate) -> ok;
check_crash_spec({after_ms, Ms}) when is_integer(Ms), Ms >= 0 -> ok;
check_crash_spec({random, P}) when is_number(P), P >= 0, P =< 1 -> ok;
check_crash_spec(Other) ->
    supertester_lib:bad_arg(crash_spec, Other, "immediate, {after_ms, Ms} or {random, Probability}").

crash_live(Pid, Spec, Opts) ->
    guard(Pid, Opts),
    Reason = maps:get(reason, Opts, chaos_injection),
    case Spec of
        immediate ->
            exit(Pid, Reason),
            ok;
        {after_ms, Ms} when is_integer(Ms), Ms >= 0 ->
            Caller = self(),
            _ = spawn(fun() ->
                              Mon = erlang:monitor(process, Caller),
                              receive
                                  {'DOWN', Mon, process, Caller, _} -> ok
                              after Ms ->
                                      exit(Pid, Reason)
                              end
                      end),
            ok;
        {random, P} ->
            case supertester_nif:chaos_rng_bernoulli(stream(seed(Opts)), P) of
                true -> exit(Pid, Reason);
                false -> ok
            end,
            ok
    end.

%% One generator per seed and per calling process: successive random
%% crashes of a test draw successive values (so crashing 20 workers with
%% p = 0.3 crashes about 6 of them), and the same test with the same seed
%% draws the same ones.
stream(Seed) ->
    case get({supertester_chaos_rng, Seed}) of
        undefined ->
            Rng = supertester_nif:chaos_rng_new(Seed),
            _ = put({supertester_chaos_rng, Seed}, Rng),
            Rng;
        Rng ->
            Rng
    end.

%% ----------------------------------------------------- chaos_kill_children

-spec chaos_kill_children(term()) -> chaos_report().
chaos_kill_children(Sup) ->
    chaos_kill_children(Sup, []).

%% @doc Kills children of a supervisor following a plan made from the
%% seed. Options (0.5.1's, with its defaults): `kill_rate' (0.3: the
%% probability that a tick kills one child), `duration_ms' (5000),
%% `kill_interval_ms' (100), `kill_reason' (`kill'); and `seed', `jitter_pct'
%% (0), `max_kills' (1000), `respect_intensity' (false),
%% `recovery_timeout' (ms to wait for the last restarts, 5000),
%% `allow_system' (false).
%%
%% The report has 0.5.1's keys (`killed', `restarted', `supervisor_crashed',
%% `duration_ms') and `seed', `plan' (the plan's string, see
%% {@link replay/3}) and `timeline' (planned, killed, skipped,
%% restarted, supervisor_down, in order, each with `at_ms' and the child's
%% id). A run shorter than one interval still makes the first kill: the
%% report does not depend on the machine's load.
-spec chaos_kill_children(term(), supertester_lib:options()) -> chaos_report().
chaos_kill_children(SupRef, Opts0) ->
    Opts = supertester_lib:options(chaos_kill_children, Opts0, ?KILL_OPTIONS),
    Sup = supervisor_target(SupRef, Opts),
    Children = start_order(Sup),
    Seed = seed(Opts),
    Params = #{seed => Seed,
               kill_rate => check_probability(kill_rate, maps:get(kill_rate, Opts, 0.3)),
               duration_ms => check_u32(duration_ms, supertester_lib:check_non_neg_integer(
                                                       duration_ms, maps:get(duration_ms, Opts, 5000))),
               interval_ms => check_u32(kill_interval_ms, supertester_lib:check_pos_integer(
                                                            kill_interval_ms, maps:get(kill_interval_ms, Opts, 100))),
               jitter_pct => check_pct(maps:get(jitter_pct, Opts, 0)),
               max_kills => check_u32(max_kills, supertester_lib:check_pos_integer(
                                                   max_kills, maps:get(max_kills, Opts, 1000))),
               n_targets => max(1, length(Children)),
               n_reasons => 1},
    case Children of
        [] ->
            supertester_lib:bad_arg(supervisor, SupRef, "a supervisor with children");
        _ ->
            {ok, Actions, Plan} = plan(Params),
            run(Sup, Children, Actions, Plan, Seed, maps:get(duration_ms, Params), Opts)
    end.

%% @doc Replays a plan against a supervisor with the same children: a
%% plan string from a report, or a list of its actions (`{AtMs,
%% ChildIndex, ReasonIndex}', as {@link minimize/2} hands them). The report
%% is that of {@link chaos_kill_children/2}.
-spec replay(term(), binary() | string() | [tuple()], supertester_lib:options()) -> chaos_report().
replay(SupRef, [Action | _] = Actions, Opts0) when is_tuple(Action) ->
    Opts = supertester_lib:options(replay, Opts0, ?KILL_OPTIONS),
    Sup = supervisor_target(SupRef, Opts),
    Children = start_order(Sup),
    N = length(Children),
    _ = [supertester_lib:bad_arg(actions, A, "{AtMs, ChildIndex, ReasonIndex} of this supervisor's children")
         || A <- Actions, not valid_action(A, N)],
    run(Sup, Children, Actions, <<>>, maps:get(seed, Opts, 0), 0, Opts);
replay(SupRef, PlanString, Opts0) ->
    Opts = supertester_lib:options(replay, Opts0, ?KILL_OPTIONS),
    Sup = supervisor_target(SupRef, Opts),
    case supertester_nif:chaos_plan_parse(PlanString) of
        {ok, #{seed := Seed, n_targets := N, duration_ms := DurationMs}, Actions} ->
            Children = start_order(Sup),
            length(Children) =:= N orelse
                supertester_lib:bad_arg(plan, PlanString,
                                        io_lib:format("a plan for ~b children (this supervisor has ~b)",
                                                      [N, length(Children)])),
            run(Sup, Children, Actions, iolist_to_binary(PlanString), Seed, DurationMs, Opts);
        {error, _} ->
            supertester_lib:bad_arg(plan, PlanString, "a plan string from a chaos report")
    end.

valid_action({At, Target, Reason}, N) ->
    is_integer(At) andalso At >= 0 andalso is_integer(Target) andalso Target >= 0 andalso
        Target < N andalso is_integer(Reason) andalso Reason >= 0;
valid_action(_, _) ->
    false.

plan(#{duration_ms := Duration, interval_ms := Interval, jitter_pct := Jitter} = Params) ->
    %% The C core makes a plan in one call and refuses more than 5e7 ticks.
    Shortest = max(1, Interval * (100 - Jitter) div 100),
    Duration div Shortest < 50000000 orelse
        supertester_lib:bad_arg(duration_ms, Duration,
                                io_lib:format("at most 50,000,000 ticks of ~b ms (or a longer kill_interval_ms)",
                                              [Shortest])),
    case supertester_nif:chaos_plan(Params) of
        {ok, Actions, Plan} -> {ok, Actions, Plan};
        {error, Reason} -> supertester_lib:bad_arg(chaos_options, Params, io_lib:format("a valid plan (~p)", [Reason]))
    end.

%% Runs the actions, then lets the chaos last its duration (a workload
%% running beside it sees the whole window), then waits for the last
%% restarts.
run(Sup, Children, Actions, Plan, Seed, DurationMs, Opts) ->
    Reason = maps:get(kill_reason, Opts, kill),
    Budget = intensity_budget(Sup, maps:get(respect_intensity, Opts, false)),
    Ids = list_to_tuple([Id || {Id, _} <- Children]),
    Trace = try supertester_supervision:start_trace(Sup, [{max_events, 100000}])
            catch error:{cannot_trace, _} -> none
            end,
    try
        run_traced(Sup, Actions, Plan, Seed, DurationMs, Opts, Reason, Budget, Ids, Trace)
    catch
        Class:Error:Stack ->
            _ = Trace =/= none andalso supertester_supervision:stop_trace(Trace),
            erlang:raise(Class, Error, Stack)
    end.

run_traced(Sup, Actions, Plan, Seed, DurationMs, Opts, Reason, Budget, Ids, Trace) ->
    SupMon = erlang:monitor(process, Sup),
    T0 = erlang:monotonic_time(millisecond),
    {Killed, Log} = execute(Actions, Sup, SupMon, Ids, Reason, T0, Budget),
    case sup_down(SupMon) of
        true -> ok;
        false -> wait_until_ms(T0 + DurationMs)
    end,
    Crashed0 = sup_down(SupMon),
    %% The last kills' restarts belong to the run: wait for the supervisor
    %% to handle them (its trace says when).
    Crashed = Crashed0 orelse
        wait_recovered(Sup, SupMon, maps:get(recovery_timeout, Opts, 5000)),
    Duration = erlang:monotonic_time(millisecond) - T0,
    erlang:demonitor(SupMon, [flush]),
    Restarts = restarts(Trace, Killed, T0),
    Timeline = lists:keysort(1, Log ++ [{At, #{event => restarted, child => Id, pid => New}}
                                        || {At, Id, New} <- Restarts])
        ++ [{Duration, #{event => supervisor_down}} || Crashed],
    #{killed => length(Killed),
      restarted => length(Restarts),
      supervisor_crashed => Crashed,
      duration_ms => Duration,
      seed => Seed,
      plan => Plan,
      timeline => [maps:put(at_ms, At, E) || {At, E} <- Timeline]}.

%% Runs the actions in order, each at its time. Returns the pids killed
%% and the log. The children are read once per tick (a supervisor of
%% thousands answers which_children slowly), and again when the pid read
%% has died since.
execute(Actions, Sup, SupMon, Ids, Reason, T0, Budget) ->
    Run = #{sup => Sup, sup_mon => SupMon, ids => Ids, reason => Reason, t0 => T0,
            budget => Budget},
    execute(Actions, Run, 0, [], none).

execute([], _Run, _Used, Log, _Children) ->
    {[P || {_, #{event := killed, pid := P}} <- Log], lists:reverse(Log)};
execute([{AtMs, Target, _R} | Rest], #{sup := Sup, sup_mon := SupMon, ids := Ids, t0 := T0,
                                       budget := Budget} = Run, Used, Log, Children) ->
    wait_until_ms(T0 + AtMs),
    Id = element(Target + 1, Ids),
    Planned = {AtMs, #{event => planned, child => Id}},
    case sup_down(SupMon) of
        true ->
            execute([], Run, Used, [Planned | Log], Children);
        false when Used >= Budget ->
            Skip = {now_ms(T0), #{event => skipped, child => Id, why => restart_intensity}},
            execute(Rest, Run, Used, [Skip, Planned | Log], Children);
        false ->
            case child_pid(Sup, Id, AtMs, Children) of
                {Pid, Now} when is_pid(Pid) ->
                    exit(Pid, maps:get(reason, Run)),
                    Kill = {now_ms(T0), #{event => killed, child => Id, pid => Pid}},
                    execute(Rest, Run, Used + 1, [Kill, Planned | Log], Now);
                {_, Now} ->
                    Skip = {now_ms(T0), #{event => skipped, child => Id, why => not_running}},
                    execute(Rest, Run, Used, [Skip, Planned | Log], Now)
            end
    end.

%% {Pid | undefined, Children}: the child's live pid, from the children
%% read at this tick when that pid still lives, else read again.
child_pid(Sup, Id, AtMs, {AtMs, ById} = Children) ->
    case maps:find(Id, ById) of
        {ok, Pid} when is_pid(Pid) ->
            case is_process_alive(Pid) of
                true -> {Pid, Children};
                false -> child_pid(Sup, Id, AtMs, none)
            end;
        _ ->
            {undefined, Children}
    end;
child_pid(Sup, Id, AtMs, _Stale) ->
    child_pid_read(Sup, Id, AtMs, 2).

%% A pid read that is already dead is a death the supervisor has not
%% handled yet (the child's exit signal was still on its way): wait for
%% that death to be complete and read again, so a busy machine does not
%% turn a planned kill into a skip. Bounded: a few reads.
child_pid_read(Sup, Id, AtMs, Retries) ->
    ById = case supertester_sup:children(Sup, 5000) of
               {ok, List} -> maps:from_list([{I, P} || {I, P, _, _} <- List]);
               {error, _} -> #{}
           end,
    case maps:find(Id, ById) of
        {ok, P} when is_pid(P) ->
            case is_process_alive(P) of
                true -> {P, {AtMs, ById}};
                false when Retries > 0 ->
                    Mon = erlang:monitor(process, P),
                    receive {'DOWN', Mon, process, P, _} -> ok end,
                    child_pid_read(Sup, Id, AtMs, Retries - 1);
                false -> {undefined, {AtMs, ById}}
            end;
        _ ->
            {undefined, {AtMs, ById}}
    end.

%% Waiting for the next tick is the plan's own timing, not a poll.
wait_until_ms(At) ->
    case At - erlang:monotonic_time(millisecond) of
        Wait when Wait > 0 -> receive after Wait -> ok end;
        _ -> ok
    end.

now_ms(T0) -> erlang:monotonic_time(millisecond) - T0.

sup_down(SupMon) ->
    receive {'DOWN', SupMon, process, _, _} = Down -> self() ! Down, true
    after 0 -> false
    end.

%% true when the supervisor died while its last restarts were awaited.
wait_recovered(Sup, SupMon, Timeout) ->
    _ = (catch supertester_supervision:wait_for_supervisor_stabilization(Sup, Timeout)),
    sup_down(SupMon) orelse not is_process_alive(Sup).

%% The restarts of the killed children, from the supervision trace:
%% [{AtMs, Id, NewPid}].
restarts(none, _Killed, _T0) ->
    [];
restarts(Trace, Killed, T0) ->
    #{events := Events, restarted_at_ns := Times} = supertester_supervision:stop_trace(Trace),
    %% The n-th restart event happened at the n-th time (monotonic ns).
    Restarts = [E || {child_restarted, _, _, _} = E <- Events],
    [{AtNs div 1000000 - T0, Id, New}
     || {{child_restarted, Id, Old, New}, AtNs} <- lists:zip(Restarts, Times),
        lists:member(Old, Killed)].

%% Kills allowed with respect_intensity: the supervisor tolerates
%% `intensity' restarts within `period', minus those it already counts; a
%% run stays at or below that.
intensity_budget(_Sup, false) -> infinity;
intensity_budget(Sup, true) ->
    case supertester_sup:restart_budget(Sup) of
        {ok, Budget} -> Budget;
        {error, _} -> 0
    end;
intensity_budget(_Sup, Other) ->
    supertester_lib:bad_arg(respect_intensity, Other, "a boolean").

start_order(Sup) ->
    supertester_sup:start_order(supervisor:which_children(Sup)).

%% ------------------------------------------------------------ suites

-spec run_chaos_suite(term(), [map()]) -> map().
run_chaos_suite(Target, Scenarios) ->
    run_chaos_suite(Target, Scenarios, []).

%% @doc Runs scenarios one after the other against a supervisor and checks
%% after each that it survived and all its children run again. A scenario
%% is a map with `type': `kill_children' (the other keys are
%% {@link chaos_kill_children/2}'s options), `inject_crash' (`child' id,
%% `spec', `reason'), `resource_exhaustion' (`resource' and its options,
%% released after the check), `concurrent' (`scenario', or `build': a fun
%% of the supervisor returning one; a {@link supertester_harness} scenario
%% run with the suite's seed unless it has its own, failed when the run
%% returns an error). Options: `timeout' for the whole suite
%% (default 30000: a scenario that would start after it fails with
%% `suite_timeout', and each waits for recovery at most what is left),
%% `seed' (for the scenarios without one). Returns
%% `total_scenarios', `passed', `failed', `failures' (`#{scenario, reason}'),
%% `results' (one per scenario, in order, with its chaos report) and
%% `duration_ms'.
-spec run_chaos_suite(term(), [map()], supertester_lib:options()) -> map().
run_chaos_suite(SupRef, Scenarios, Opts0) when is_list(Scenarios) ->
    Opts = supertester_lib:options(run_chaos_suite, Opts0, [timeout, seed]),
    Timeout = supertester_lib:check_timeout(timeout, maps:get(timeout, Opts, 30000)),
    Deadline = supertester_lib:deadline(Timeout),
    Sup = supervisor_target(SupRef, Opts),
    Seed = seed(Opts),
    T0 = erlang:monotonic_time(millisecond),
    Results = [case supertester_lib:remaining(Deadline) of
                   0 -> #{scenario => S, status => failed, reason => suite_timeout};
                   Left -> run_scenario(Sup, S, Seed, Left)
               end || S <- Scenarios],
    Failures = [#{scenario => S, reason => R} || #{scenario := S, status := failed, reason := R} <- Results],
    #{total_scenarios => length(Scenarios),
      passed => length(Scenarios) - length(Failures),
      failed => length(Failures),
      failures => Failures,
      results => Results,
      duration_ms => erlang:monotonic_time(millisecond) - T0};
run_chaos_suite(_SupRef, Other, _Opts) ->
    supertester_lib:bad_arg(scenarios, Other, "a list of scenario maps").

run_scenario(Sup, #{type := Type} = Scenario, Seed, Timeout) ->
    try scenario(Sup, Type, maps:remove(type, Scenario), Seed) of
        {Report, Release} ->
            Verdict = verdict(Sup, Report, Timeout),
            Release(),
            case Verdict of
                ok -> #{scenario => Scenario, status => passed, report => Report};
                {failed, Why} -> #{scenario => Scenario, status => failed, reason => Why,
                                   report => Report}
            end
    catch
        error:Reason ->
            #{scenario => Scenario, status => failed, reason => Reason}
    end;
run_scenario(_Sup, Scenario, _Seed, _Timeout) ->
    #{scenario => Scenario, status => failed, reason => {bad_scenario, missing_type}}.

scenario(Sup, kill_children, Opts, Seed) ->
    {chaos_kill_children(Sup, maps:to_list(maps:merge(#{seed => Seed}, Opts))), fun() -> ok end};
scenario(Sup, inject_crash, #{child := Id} = Opts, _Seed) ->
    case lists:keyfind(Id, 1, start_order(Sup)) of
        {Id, Pid} when is_pid(Pid) ->
            Spec = maps:get(spec, Opts, immediate),
            Mon = erlang:monitor(process, Pid),
            ok = inject_crash(Pid, Spec, maps:to_list(maps:with([reason, seed], Opts))),
            %% A delayed crash is judged once it has landed (or, for a
            %% process that survives it, a second after it was due).
            Wait = case Spec of
                       {after_ms, Ms} -> Ms + 1000;
                       _ -> 0
                   end,
            Crashed = receive {'DOWN', Mon, process, Pid, _} -> true
                      after Wait -> erlang:demonitor(Mon, [flush]), not is_process_alive(Pid)
                      end,
            {#{child => Id, pid => Pid, crashed => Crashed}, fun() -> ok end};
        _ ->
            erlang:error({no_running_child, Id})
    end;
scenario(_Sup, resource_exhaustion, #{resource := Resource} = Opts, _Seed) ->
    case simulate_resource_exhaustion(Resource, maps:to_list(maps:remove(resource, Opts))) of
        {ok, Cleanup} -> {#{resource => Resource}, Cleanup};
        {error, Reason} -> erlang:error(Reason)
    end;
scenario(Sup, concurrent, Opts, Seed) ->
    Built = case Opts of
                #{scenario := Given} -> Given;
                #{build := Build} when is_function(Build, 1) -> Build(Sup);
                _ -> erlang:error({bad_scenario, needs_scenario_or_build})
            end,
    Scenario = case supertester_harness:scenario(Built) of
                   #{seed := undefined} = S -> S#{seed := Seed};
                   S -> S
               end,
    case supertester_harness_run:run(Scenario) of
        {ok, Report} -> {Report, fun() -> ok end};
        {error, Reason} -> erlang:error(Reason)
    end;
scenario(_Sup, Type, _Opts, _Seed) ->
    erlang:error({unknown_scenario_type, Type}).

verdict(Sup, Report, Timeout) ->
    case maps:get(supervisor_crashed, Report, false) orelse not is_process_alive(Sup) of
        true -> {failed, supervisor_crashed};
        false ->
            case catch supertester_supervision:wait_for_supervisor_stabilization(Sup, Timeout) of
                ok -> ok;
                {error, supervisor_down} -> {failed, supervisor_crashed};
                Other -> {failed, {not_recovered, Other}}
            end
    end.

%% ------------------------------------------------------------ minimisation

%% @doc The smallest sequence of a failing run's actions that still fails:
%% delta debugging over `Actions' (a report's plan actions, see
%% {@link replay/3}), where `Fails(Subset)' replays a subset on a fresh
%% system and returns true when the invariant is broken. Returns
%% `{MinimalActions, Runs}'.
-spec minimize([term()], fun(([term()]) -> boolean())) -> {[term()], non_neg_integer()}.
minimize([], _Fails) ->
    {[], 0};
minimize(Actions, Fails) when is_list(Actions) ->
    _ = supertester_lib:check_fun(fails, Fails, 1),
    Indexed = list_to_tuple(Actions),
    D = supertester_nif:chaos_ddmin_new(length(Actions)),
    ddmin_loop(D, Indexed, Fails).

ddmin_loop(D, Indexed, Fails) ->
    case supertester_nif:chaos_ddmin_next(D) of
        {ok, Indices} ->
            Failed = Fails([element(I + 1, Indexed) || I <- Indices]) =:= true,
            ok = supertester_nif:chaos_ddmin_report(D, Failed),
            ddmin_loop(D, Indexed, Fails);
        done ->
            {Indices, Runs} = supertester_nif:chaos_ddmin_result(D),
            {[element(I + 1, Indexed) || I <- Indices], Runs}
    end.

%% ----------------------------------------------- resource exhaustion

-spec simulate_resource_exhaustion(atom()) -> {ok, fun(() -> ok)} | {error, term()}.
simulate_resource_exhaustion(Resource) ->
    simulate_resource_exhaustion(Resource, []).

%% @doc Takes resources until released by the returned cleanup function
%% (or when the caller dies): `process_limit' (processes: `spawn_count', or
%% `percentage' of the free process slots, default 0.8), `ets_tables'
%% (`count' tables, or `percentage' of the free ETS slots), `memory'
%% (`count' binaries of 1 MB, default 10). At most 90% of a limit is taken,
%% so the VM itself keeps working. The cleanup returns once everything is
%% released: the processes are dead and the tables deleted (the VM's
%% `ets_count' may lag behind by a moment).
-spec simulate_resource_exhaustion(atom(), supertester_lib:options()) ->
          {ok, fun(() -> ok)} | {error, term()}.
simulate_resource_exhaustion(Resource, Opts0) ->
    Opts = supertester_lib:options(simulate_resource_exhaustion, Opts0,
                                   [percentage, spawn_count, count]),
    case Resource of
        process_limit ->
            Free = erlang:system_info(process_limit) - erlang:system_info(process_count),
            N = amount(spawn_count, Opts, Free),
            hold(fun() -> spawn_idle(N) end);
        ets_tables ->
            Free = erlang:system_info(ets_limit) - erlang:system_info(ets_count),
            N = amount(count, Opts, Free),
            hold(fun() -> _ = [ets:new(supertester_exhaustion, []) || _ <- lists:seq(1, N)], [] end);
        memory ->
            N = supertester_lib:check_non_neg_integer(count, maps:get(count, Opts, 10)),
            hold(fun() -> put(supertester_ballast, [binary:copy(<<0>>, 1048576) || _ <- lists:seq(1, N)]), [] end);
        Other ->
            {error, {unknown_resource, Other}}
    end.

%% How many to take: the explicit count, else the percentage of what is
%% free; never more than 90% of it.
amount(CountKey, Opts, Free) ->
    Cap = max(0, (Free * 9) div 10),
    Wanted = case maps:find(CountKey, Opts) of
                 {ok, N} -> supertester_lib:check_non_neg_integer(CountKey, N);
                 error ->
                     trunc(Free * check_probability(percentage, maps:get(percentage, Opts, 0.8)))
             end,
    min(Wanted, Cap).

%% A holder process takes the resources (what Take returns are processes
%% to stop; tables and memory are its own) and gives everything back on
%% cleanup or when the caller dies.
hold(Take) ->
    Caller = self(),
    Ref = make_ref(),
    {Holder, Mon} = spawn_monitor(fun() ->
                                          CallerMon = erlang:monitor(process, Caller),
                                          Procs = Take(),
                                          Caller ! {Ref, ready},
                                          receive
                                              {Ref, release, From} ->
                                                  release(Procs),
                                                  From ! {Ref, released};
                                              {'DOWN', CallerMon, process, Caller, _} ->
                                                  release(Procs)
                                          end
                                  end),
    receive
        {Ref, ready} ->
            erlang:demonitor(Mon, [flush]),
            {ok, fun() -> cleanup(Holder, Ref) end};
        {'DOWN', Mon, process, Holder, Reason} ->
            {error, Reason}
    end.

cleanup(Holder, Ref) ->
    Mon = erlang:monitor(process, Holder),
    Holder ! {Ref, release, self()},
    receive
        {Ref, released} ->
            %% The holder's tables and memory go with it: wait for its exit.
            receive {'DOWN', Mon, process, Holder, _} -> ok end;
        {'DOWN', Mon, process, Holder, _} ->
            ok % released already (a second cleanup, or the caller died)
    end.

spawn_idle(N) ->
    Parent = self(),
    [spawn(fun() ->
                   M = erlang:monitor(process, Parent),
                   receive {'DOWN', M, process, Parent, _} -> ok; stop -> ok end
           end) || _ <- lists:seq(1, N)].

%% Stops the processes and returns once every one is gone.
release(Procs) ->
    Mons = [erlang:monitor(process, P) || P <- Procs],
    _ = [P ! stop || P <- Procs],
    _ = [receive {'DOWN', M, process, _, _} -> ok end || M <- Mons],
    ok.

%% ------------------------------------------------------- assertions

-spec assert_chaos_resilient(term(), fun(() -> term()), fun(() -> boolean())) -> ok.
assert_chaos_resilient(System, ChaosFun, RecoveryFun) ->
    assert_chaos_resilient(System, ChaosFun, RecoveryFun, []).

%% @doc Runs `ChaosFun', then waits (`timeout', default 5000 ms) until
%% `RecoveryFun()' returns true, checking again after each trace event of
%% the system when it is a supervisor. Fails with the seed of the chaos
%% report (when `ChaosFun' returned one) and how to rerun it.
-spec assert_chaos_resilient(term(), fun(() -> term()), fun(() -> boolean()),
                             supertester_lib:options()) -> ok.
assert_chaos_resilient(System, ChaosFun, RecoveryFun, Opts0) ->
    Opts = supertester_lib:options(assert_chaos_resilient, Opts0, [timeout]),
    _ = supertester_lib:check_fun(chaos_fn, ChaosFun, 0),
    _ = supertester_lib:check_fun(recovery_fn, RecoveryFun, 0),
    Timeout = supertester_lib:check_timeout(timeout, maps:get(timeout, Opts, 5000)),
    Pid = supertester_lib:resolve(System),
    %% The chaos traces the supervisor itself (a process has one tracer):
    %% the watch for the recovery starts once the chaos is done.
    Outcome = ChaosFun(),
    Watch = case is_pid(Pid) andalso is_process_alive(Pid) andalso
                supertester_sup:is_supervisor(Pid) of
                true -> supertester_recovery:watch(Pid);
                false -> none
            end,
    try
        case supertester_recovery:await(fun() -> {RecoveryFun() =:= true, ok} end, Watch,
                                        supertester_lib:deadline(Timeout)) of
            {ok, ok} ->
                ok;
            {error, timeout} ->
                Seed = case Outcome of
                           #{seed := S} -> S;
                           _ -> undefined
                       end,
                supertester_lib:assertion_failed(
                  assert_chaos_resilient,
                  ["the system did not recover within ", integer_to_list(Timeout), " ms",
                   rerun_hint(Seed)],
                  #{seed => Seed, chaos_result => Outcome})
        end
    after
        supertester_recovery:unwatch(Watch)
    end.

%% @doc The line a failure prints so the run can be replayed.
-spec rerun_hint(integer() | undefined) -> iolist().
rerun_hint(undefined) -> "";
rerun_hint(Seed) ->
    io_lib:format("~nchaos seed: ~b (rerun: mix test --seed ~b, or pass seed: ~b)",
                  [Seed, Seed, Seed]).

%% ----------------------------------------------------------- internals

%% @doc The seed when none is given: the one `chaos_seed' holds in the
%% application environment (see {@link configured_seed/0}), else a fresh
%% random one (printed in every report, so it can be replayed).
-spec default_seed() -> non_neg_integer().
default_seed() ->
    case configured_seed() of
        {ok, Seed} -> Seed;
        none -> rand:uniform(1 bsl 32) - 1
    end.

%% @doc The seed the test run configured (`chaos_seed' in the application
%% environment), if any: without one, a default seed is random and only
%% its report can replay it.
-spec configured_seed() -> {ok, non_neg_integer()} | none.
configured_seed() ->
    case application:get_env(supertester, chaos_seed) of
        {ok, Seed} when is_integer(Seed), Seed >= 0 -> {ok, Seed};
        _ -> none
    end.

%% @doc The options of {@link chaos_kill_children/2}, for hooks that pass
%% them on.
-spec kill_options() -> [atom()].
kill_options() -> ?KILL_OPTIONS.

seed(Opts) ->
    case maps:find(seed, Opts) of
        {ok, Seed} when is_integer(Seed), Seed >= 0 -> Seed;
        {ok, Other} -> supertester_lib:bad_arg(seed, Other, "a non-negative integer");
        error -> default_seed()
    end.

%% A number from 0 to 1 (a rate or a share), as a float.
check_probability(_Name, P) when is_number(P), P >= 0, P =< 1 -> float(P);
check_probability(Name, Other) -> supertester_lib:bad_arg(Name, Other, "a number between 0 and 1").

%% The plan's fields are 32-bit in the C core.
check_u32(_Name, N) when N < 1 bsl 32 -> N;
check_u32(Name, N) -> supertester_lib:bad_arg(Name, N, "an integer below 2^32").

check_pct(P) when is_integer(P), P >= 0, P =< 100 -> P;
check_pct(Other) -> supertester_lib:bad_arg(jitter_pct, Other, "an integer between 0 and 100").

%% Kills go to a supervisor's children: anything else is refused before
%% it is asked for children (a plain process would never answer).
supervisor_target(SupRef, Opts) ->
    Sup = supertester_lib:resolve_local_pid(supervisor, SupRef),
    guard(Sup, Opts),
    supertester_sup:is_supervisor(Sup) orelse
        supertester_lib:bad_arg(supervisor, SupRef, "a supervisor"),
    Sup.

%% The VM's own processes are not targets unless allowed.
guard(Pid, Opts) ->
    case maps:get(allow_system, Opts, false) of
        true -> ok;
        false ->
            System = case application:get_application(Pid) of
                         {ok, App} -> lists:member(App, [kernel, stdlib, supertester]);
                         undefined -> false
                     end orelse lists:member(Pid, [whereis(N) || N <- ?SYSTEM_NAMES]),
            case System of
                true -> supertester_lib:bad_arg(target, Pid,
                                                "a process outside the VM's own applications (allow_system: true overrides)");
                false -> ok
            end
    end.
