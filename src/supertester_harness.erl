%% @doc Concurrent scenarios against one process
%% (Supertester.ConcurrentHarness): thread scripts of calls, casts and
%% custom functions, a chaos hook, mailbox and performance measurement,
%% and an invariant checked at the end.
%%
%% ```
%% S = supertester_harness:simple_genserver_scenario(
%%       counter, [{cast, increment}, {call, value}], 4,
%%       [{seed, 42},
%%        {invariant, fun(Server, _Ctx) -> {ok, N} = counter:value(Server), N >= 0 end}]),
%% {ok, #{events := Events, schedule := Schedule}} = supertester_harness:run(S).
%% '''
%%
%% A scenario is a map (an Elixir `%Scenario{}' is one too) with the
%% fields of 0.5.1's struct: `setup' (`fun() -> {ok, Pid} | {ok, Pid, Ctx}
%% | {error, Reason}'), `threads' (lists of operations), `timeout_ms'
%% (5000), `call_timeout_ms' (1000), `invariant' (`fun(Pid, Ctx)'),
%% `cleanup' (`fun(Pid, Ctx)', default: stop the process), `metadata',
%% `cast_sync_message' (`__supertester_sync__'), `strict_cast_sync?'
%% (false), `default_operation' (`call'), `mailbox' (options of
%% {@link supertester_performance:measure_mailbox_growth/3}), `chaos'
%% (`fun(Pid, Ctx)'), `performance_expectations'; and `seed'.
%%
%% What 0.5.1 leaves to chance is drawn from the seed here: the order in
%% which the threads' operations reach the process (a uniformly random
%% interleaving made by the C core) and the step at which the chaos hook
%% starts. The same seed replays the same interleaving; the report gives
%% the seed and the `schedule'. See {@link supertester_harness_run} for
%% how a run goes.
-module(supertester_harness).

-export([run/1, run_with_performance/2,
         simple_genserver_scenario/3, simple_genserver_scenario/4,
         from_property_config/2, from_property_config/3,
         chaos_kill_children/0, chaos_kill_children/1,
         chaos_inject_crash/0, chaos_inject_crash/1, chaos_inject_crash/2,
         default_invariant/2, scenario/1, normalize_operation/2]).

-export_type([scenario/0, operation/0]).

-type operation() :: {call, term()} | {cast, term()} | {custom, fun((pid()) -> term())}.
-type scenario() :: #{setup := fun(() -> term()), threads := [[operation()]], atom() => term()}.

-define(FIELDS, [setup, cleanup, threads, timeout_ms, invariant, metadata, call_timeout_ms,
                 cast_sync_message, 'strict_cast_sync?', default_operation, mailbox, chaos,
                 performance_expectations, seed]).

-define(BUILD_OPTIONS, [server_opts, setup, cleanup, default_operation, call_timeout_ms,
                        timeout_ms, invariant, metadata, mailbox, chaos,
                        performance_expectations, seed, cast_sync_message, 'strict_cast_sync?']).

%% ------------------------------------------------------------------ running

%% @doc Runs a scenario (a map or keyword list of the fields above) and
%% returns `{ok, Report}' or `{error, Reason}'. The report has 0.5.1's
%% `events', `threads', `metrics', `mailbox', `chaos', `performance',
%% `metadata' (with `scenario_id' and `seed') and `context', plus `seed'
%% and `schedule' (the thread of each step, in order).
-spec run(scenario() | map() | list()) -> {ok, map()} | {error, term()}.
run(Scenario) ->
    supertester_harness_run:run(scenario(Scenario)).

%% @doc Runs the scenario, measured as {@link
%% supertester_performance:measure_operation/1} measures a call, checks the
%% measurement against `Expectations' (failing as `assert_expectations'
%% does), and returns the run's result.
-spec run_with_performance(scenario() | map() | list(), supertester_performance:expectations()) ->
          {ok, map()} | {error, term()}.
run_with_performance(Scenario, Expectations) ->
    Normalized = scenario(Scenario),
    Measurement = supertester_performance:measure_operation(
                    fun() -> supertester_harness_run:run(Normalized) end),
    ok = supertester_performance:assert_expectations(Measurement, Expectations),
    maps:get(result, Measurement).

%% @doc The invariant when none is given.
-spec default_invariant(pid(), map()) -> ok.
default_invariant(_Pid, _Ctx) -> ok.

%% ------------------------------------------------------------- building

%% @equiv simple_genserver_scenario(Module, Operations, ThreadCount, [])
-spec simple_genserver_scenario(module(), [term()], pos_integer()) -> scenario().
simple_genserver_scenario(Module, Operations, ThreadCount) ->
    simple_genserver_scenario(Module, Operations, ThreadCount, []).

%% @doc `ThreadCount' threads that each run `Operations' against a server
%% started with `Module:start_link(ServerOpts)'. Options: `server_opts',
%% `setup' (instead of start_link), and the scenario's fields. The server
%% the default setup starts is not linked to the caller (a chaos crash must
%% not take the test down with it) but ends when the caller does.
-spec simple_genserver_scenario(module(), [term()], pos_integer(), supertester_lib:options()) ->
          scenario().
simple_genserver_scenario(Module, Operations, ThreadCount, Opts0) ->
    is_atom(Module) orelse supertester_lib:bad_arg(module, Module, "a module name"),
    is_list(Operations) orelse supertester_lib:bad_arg(operations, Operations, "a list of operations"),
    _ = supertester_lib:check_pos_integer(thread_count, ThreadCount),
    Opts = supertester_lib:options(simple_genserver_scenario, Opts0, ?BUILD_OPTIONS),
    Fields = maps:without([server_opts], Opts),
    scenario(Fields#{setup => maps:get(setup, Opts, default_setup(Module, Opts)),
                     threads => lists:duplicate(ThreadCount, Operations),
                     metadata => maps:merge(#{module => Module, thread_count => ThreadCount},
                                            maps:get(metadata, Opts, #{}))}).

%% @equiv from_property_config(Module, Config, [])
-spec from_property_config(module(), map()) -> scenario().
from_property_config(Module, Config) ->
    from_property_config(Module, Config, []).

%% @doc A scenario from a property-test config (`thread_scripts', and any
%% scenario field): the config's fields win over `Opts', which win over
%% the defaults; metadata is merged as in 0.5.1 (the module, then the
%% config's, then the options'). Without a `setup', the server is started as in
%% {@link simple_genserver_scenario/4}.
-spec from_property_config(module(), map(), supertester_lib:options()) -> scenario().
from_property_config(Module, Config, Opts0) when is_atom(Module), is_map(Config) ->
    Opts = supertester_lib:options(from_property_config, Opts0, ?BUILD_OPTIONS),
    Scripts = case Config of
                  #{thread_scripts := S} -> S;
                  #{threads := S} -> S;
                  _ -> supertester_lib:bad_arg(config, Config, "a map with thread_scripts")
              end,
    Given = given(maps:with(?FIELDS, maps:without([threads], Config))),
    Fields = maps:merge(maps:without([server_opts], Opts), Given),
    Metadata = maps:merge(maps:merge(#{module => Module}, maps:get(metadata, Config, #{})),
                          maps:get(metadata, Opts, #{})),
    scenario(Fields#{setup => maps:get(setup, Fields, default_setup(Module, Opts)),
                     threads => Scripts,
                     metadata => Metadata});
from_property_config(Module, Config, _Opts) when is_atom(Module) ->
    supertester_lib:bad_arg(config, Config, "a map with thread_scripts");
from_property_config(Module, _Config, _Opts) ->
    supertester_lib:bad_arg(module, Module, "a module name").

%% ------------------------------------------------------------ chaos hooks

%% @equiv chaos_kill_children([])
-spec chaos_kill_children() -> fun((pid(), map()) -> term()).
chaos_kill_children() -> chaos_kill_children([]).

%% @doc A chaos hook that runs {@link supertester_chaos:chaos_kill_children/2}
%% on the scenario's subject (a supervisor), seeded by the scenario's seed
%% unless `Opts' has one.
-spec chaos_kill_children(supertester_lib:options()) -> fun((pid(), map()) -> term()).
chaos_kill_children(Opts0) ->
    Opts = supertester_lib:options(chaos_kill_children, Opts0, supertester_chaos:kill_options()),
    fun(Subject, Ctx) ->
            supertester_chaos:chaos_kill_children(Subject, maps:to_list(seeded(Opts, Ctx)))
    end.

%% @equiv chaos_inject_crash(immediate, [])
-spec chaos_inject_crash() -> fun((pid(), map()) -> term()).
chaos_inject_crash() -> chaos_inject_crash(immediate, []).

%% @equiv chaos_inject_crash(Spec, [])
-spec chaos_inject_crash(term()) -> fun((pid(), map()) -> term()).
chaos_inject_crash(Spec) -> chaos_inject_crash(Spec, []).

%% @doc A chaos hook that crashes the scenario's subject with {@link
%% supertester_chaos:inject_crash/3}; a `{random, P}' draw comes from the
%% scenario's seed unless `Opts' has one.
-spec chaos_inject_crash(term(), supertester_lib:options()) -> fun((pid(), map()) -> term()).
chaos_inject_crash(Spec, Opts0) ->
    Opts = supertester_lib:options(chaos_inject_crash, Opts0, [reason, seed, allow_system]),
    ok = supertester_chaos:check_crash_spec(Spec),
    fun(Subject, Ctx) ->
            supertester_chaos:inject_crash(Subject, Spec, maps:to_list(seeded(Opts, Ctx)))
    end.

seeded(Opts, #{seed := Seed}) when is_integer(Seed) -> maps:merge(#{seed => Seed}, Opts);
seeded(Opts, _Ctx) -> Opts.

%% -------------------------------------------------------- normalisation

%% @doc A scenario with every field checked and filled with its default.
%% Raises `badarg' naming the first bad field; unknown fields are refused
%% (a misspelt `timeout' would otherwise be silently ignored).
-spec scenario(map() | list()) -> scenario().
scenario(Attrs) when is_list(Attrs) ->
    scenario(supertester_lib:options(scenario, Attrs, ?FIELDS));
scenario(Attrs0) when is_map(Attrs0) ->
    Attrs = given(maps:remove('__struct__', Attrs0)),
    _ = supertester_lib:options(scenario, Attrs, ?FIELDS),
    Setup = supertester_lib:check_fun(setup, maps:get(setup, Attrs, undefined), 0),
    Default = default_operation(maps:get(default_operation, Attrs, call)),
    Threads = threads(maps:get(threads, Attrs, []), Default),
    #{setup => Setup,
      threads => Threads,
      default_operation => Default,
      timeout_ms => supertester_lib:check_pos_integer(timeout_ms, maps:get(timeout_ms, Attrs, 5000)),
      call_timeout_ms => supertester_lib:check_pos_integer(call_timeout_ms,
                                                           maps:get(call_timeout_ms, Attrs, 1000)),
      invariant => supertester_lib:check_fun(invariant,
                                             maps:get(invariant, Attrs, fun default_invariant/2), 2),
      cleanup => optional_fun(cleanup, maps:get(cleanup, Attrs, undefined), 2),
      metadata => check_map(metadata, maps:get(metadata, Attrs, #{})),
      cast_sync_message => maps:get(cast_sync_message, Attrs, '__supertester_sync__'),
      'strict_cast_sync?' => check_boolean('strict_cast_sync?',
                                           maps:get('strict_cast_sync?', Attrs, false)),
      mailbox => mailbox(maps:get(mailbox, Attrs, undefined)),
      chaos => optional_fun(chaos, maps:get(chaos, Attrs, undefined), 2),
      performance_expectations => expectations(maps:get(performance_expectations, Attrs, [])),
      seed => seed(maps:get(seed, Attrs, undefined))};
scenario(Other) ->
    supertester_lib:bad_arg(scenario, Other, "a scenario map or keyword list").

%% The fields of a map that are given (not nil or undefined).
given(Map) ->
    maps:filter(fun(_K, V) -> not absent(V) end, Map).

%% Elixir's nil and Erlang's undefined both mean "not given".
absent(nil) -> true;
absent(undefined) -> true;
absent(_) -> false.

%% @doc One operation in its tagged form: `{call, Msg}', `{cast, Msg}' and
%% `{custom, Fun}' stay; a one-argument fun becomes `{custom, Fun}'; any
%% other term is sent as `Default' (call or cast).
-spec normalize_operation(term(), call | cast) -> operation().
normalize_operation({call, _} = Op, _Default) -> Op;
normalize_operation({cast, _} = Op, _Default) -> Op;
normalize_operation({custom, Fun} = Op, _Default) when is_function(Fun, 1) -> Op;
normalize_operation({custom, Other}, _Default) ->
    supertester_lib:bad_arg(operation, {custom, Other}, "{custom, fun(Pid) -> ... end}");
normalize_operation(Fun, _Default) when is_function(Fun, 1) -> {custom, Fun};
normalize_operation(Term, Default) -> {default_operation(Default), Term}.

threads([], _Default) ->
    supertester_lib:bad_arg(threads, [], "at least one thread script");
threads(Threads, Default) when is_list(Threads) ->
    [[normalize_operation(Op, Default) || Op <- script(Script)] || Script <- Threads];
threads(Other, _Default) ->
    supertester_lib:bad_arg(threads, Other, "a list of thread scripts (lists of operations)").

%% A bare operation is a script of one, as 0.5.1's List.wrap made it.
script(Script) when is_list(Script) -> Script;
script(Operation) -> [Operation].

default_operation(Op) when Op =:= call; Op =:= cast -> Op;
default_operation(Other) -> supertester_lib:bad_arg(default_operation, Other, "call or cast").

optional_fun(Name, Fun, Arity) ->
    case absent(Fun) of
        true -> undefined;
        false -> supertester_lib:check_fun(Name, Fun, Arity)
    end.

check_map(_Name, Map) when is_map(Map) -> Map;
check_map(Name, Other) -> supertester_lib:bad_arg(Name, Other, "a map").

check_boolean(_Name, B) when is_boolean(B) -> B;
check_boolean(Name, Other) -> supertester_lib:bad_arg(Name, Other, "true or false").

mailbox(undefined) -> undefined;
mailbox(Opts) -> maps:to_list(supertester_lib:options(mailbox, Opts, [sampling_interval])).

expectations(Expectations) ->
    Map = supertester_lib:options(performance_expectations, Expectations,
                                  [max_time_ms, max_memory_bytes, max_reductions]),
    maps:foreach(fun(Key, Limit) -> supertester_lib:check_non_neg_number(Key, Limit) end, Map),
    maps:to_list(Map).

seed(undefined) -> undefined;
seed(Seed) when is_integer(Seed), Seed >= 0, Seed < 1 bsl 64 -> Seed;
seed(Other) -> supertester_lib:bad_arg(seed, Other, "a non-negative integer below 2^64").

%% ------------------------------------------------------------ default setup

%% The server the default setup starts: Module:start_link(ServerOpts) run
%% by a keeper process, so the server is linked to the keeper rather than
%% to the test. The keeper ends with the server, or takes it down when the
%% caller dies (nothing outlives the test).
default_setup(Module, Opts) ->
    ServerOpts = maps:get(server_opts, Opts, []),
    fun() -> start_kept(Module, ServerOpts) end.

start_kept(Module, ServerOpts) ->
    Caller = self(),
    Ref = make_ref(),
    Callers = case get('$callers') of
                  L when is_list(L) -> L;
                  _ -> []
              end,
    {Keeper, Mon} =
        spawn_monitor(fun() ->
                              process_flag(trap_exit, true),
                              put('$callers', [Caller | Callers]),
                              CallerMon = erlang:monitor(process, Caller),
                              Started = try Module:start_link(ServerOpts)
                                        catch Class:Reason:Stack -> {error, {Class, Reason, Stack}}
                                        end,
                              Caller ! {Ref, Started},
                              case Started of
                                  {ok, Pid} when is_pid(Pid) -> keep(Pid, CallerMon);
                                  _ -> ok
                              end
                      end),
    receive
        {Ref, Started} ->
            erlang:demonitor(Mon, [flush]),
            Started;
        {'DOWN', Mon, process, Keeper, Reason} ->
            {error, Reason}
    end.

keep(Pid, CallerMon) ->
    receive
        {'EXIT', Pid, _} -> ok;
        {'DOWN', CallerMon, process, _, _} -> exit(Pid, shutdown);
        _ -> keep(Pid, CallerMon)
    end.
