%% @doc The isolation runtime: what each test started, and undoing it when
%% the test ends. The Erlang side of `Supertester.UnifiedTestFoundation',
%% usable from EUnit and Common Test.
%%
%% A context belongs to one test. It holds a record in the C core of every
%% process, ETS table and cleanup action the test asked Supertester to look
%% after, in order; {@link teardown/1} undoes them last first, as a
%% supervisor shuts its children down. Processes are watched by monitors
%% held in C, so one that dies during the test simply leaves the record.
%%
%% Modes (as in Supertester 0.5.1):
%% <ul>
%% <li>`basic': unique names and cleanup;</li>
%% <li>`registry': and a per-test registry (`registry' key), so names
%%   registered through it never collide across tests;</li>
%% <li>`full_isolation' (the default of ExUnitFoundation): both;</li>
%% <li>`contamination_detection': a snapshot of every process, ETS table and
%%   registered name is taken at setup (in C, as sorted sets); at teardown,
%%   after cleanup, whatever appeared since is reported with its pid,
%%   initial call and name, then removed. Tests in this mode must not run
%%   concurrently with others (async: false).</li>
%% </ul>
%%
%% Names. Processes get names built from the C name pools:
%% `MyApp.Server#3' is slot 3 of the pool of `MyApp.Server', and slot 3 is
%% given to the next server only once this one is dead. Atoms are never
%% collected, so Supertester 0.5.1, which made a new atom per test and per
%% server, grew the atom table without bound; here the atoms made are
%% bounded by the most servers of one module alive at the same time.
%% {@link name_stats/0} shows the count.
%%
%% In EUnit and Common Test:
%% ```
%% %% Common Test
%% init_per_testcase(_Case, Config) ->
%%     [{isolation, supertester_isolation:setup(full_isolation)} | Config].
%% end_per_testcase(_Case, Config) ->
%%     supertester_isolation:teardown(?config(isolation, Config)).
%%
%% %% EUnit, one test
%% my_test() ->
%%     supertester_isolation:with(basic, fun(_Ctx) ->
%%         {ok, Pid} = supertester_otp:setup_isolated_genserver(my_server),
%%         ...
%%     end).
%% '''
%% Without setup, the helpers make a `basic' context for the calling process
%% on first use; it is cleaned up when that process exits (by a janitor
%% process), or earlier by {@link teardown/1} on {@link current/0}.
-module(supertester_isolation).

-export([modes/0, allows_async/1, timeout/1]).
-export([setup/1, setup/2, teardown/1, with/2, with/3, fixture/2, current/0,
         put_current/1, ensure/0, inherited/0, watch_owner/1, cleanup_record/1]).
-export([start_tracked/4, track_process/3, track_ets/2, untrack_ets/2,
         add_cleanup/2, tracked/1, verify/1, leaks/1, format_leaks/1,
         name_stats/0]).

-export_type([mode/0, ctx/0, leaks/0]).

-type mode() :: basic | registry | full_isolation | contamination_detection.
-type ctx() :: #{test_id := pos_integer(),
                 mode := mode(),
                 record := reference(),
                 registry := atom() | undefined,
                 tags := map(),
                 snapshot := reference() | undefined,
                 owner := pid(),
                 contamination := warn | fail | report}.
-type leaks() :: #{processes := [map()], ets := [map()], names := [map()]}.

-define(MODES, [basic, registry, full_isolation, contamination_detection]).
-define(CURRENT, '$supertester_isolation').
-define(STOP_TIMEOUT, 5000).
-define(NAME_ATTEMPTS, 3).

%% @doc The isolation modes.
-spec modes() -> [mode()].
modes() -> ?MODES.

%% @doc Whether tests in this mode may run concurrently.
-spec allows_async(mode()) -> boolean().
allows_async(contamination_detection) -> false;
allows_async(Mode) -> check_mode(Mode), true.

%% @doc The test timeout 0.5.1 associates with each mode, in ms.
-spec timeout(mode()) -> pos_integer().
timeout(basic) -> 5000;
timeout(registry) -> 10000;
timeout(full_isolation) -> 15000;
timeout(contamination_detection) -> 30000;
timeout(Other) -> check_mode(Other).

check_mode(Mode) ->
    lists:member(Mode, ?MODES) orelse
        supertester_lib:bad_arg(isolation, Mode,
                                "one of basic, registry, full_isolation, contamination_detection").

%% @equiv setup(Mode, #{})
-spec setup(mode()) -> ctx().
setup(Mode) -> setup(Mode, #{}).

%% @doc Creates the context of a test and makes it the calling process's
%% current one. Options:
%% <ul>
%% <li>`tags': a map describing the test (module, name...), kept in the context;</li>
%% <li>`owner' (default: the caller): the test's process;</li>
%% <li>`auto_teardown' (default true): clean up when the owner exits without
%%   calling teardown (ExUnit integration passes false and uses on_exit);</li>
%% <li>`registry_starter': `fun(Name) -> {ok, Pid}' starting the per-test
%%   registry under `Name' (default {@link supertester_registry});</li>
%% <li>`contamination' (default `warn'): what teardown does with leaks found
%%   in `contamination_detection' mode: log a warning, `fail' (raise an
%%   assertion failure) or only `report' them in its result.</li>
%% </ul>
-spec setup(mode(), supertester_lib:options()) -> ctx().
setup(Mode, Opts) ->
    check_mode(Mode),
    O = supertester_lib:options(setup_isolation, Opts,
                                [tags, owner, auto_teardown, registry_starter, contamination]),
    Owner = maps:get(owner, O, self()),
    is_pid(Owner) orelse supertester_lib:bad_arg(owner, Owner, "a pid"),
    Tags = maps:get(tags, O, #{}),
    is_map(Tags) orelse supertester_lib:bad_arg(tags, Tags, "a map"),
    Contamination = maps:get(contamination, O, warn),
    lists:member(Contamination, [warn, fail, report]) orelse
        supertester_lib:bad_arg(contamination, Contamination, "warn, fail or report"),
    {ok, Record} = supertester_nif:iso_record_new(),
    TestId = supertester_nif:iso_new_id(),
    Ctx0 = #{test_id => TestId, mode => Mode, record => Record, registry => undefined,
             tags => Tags#{isolation => Mode, test_id => TestId}, snapshot => undefined,
             owner => Owner, contamination => Contamination},
    Ctx1 = case Mode of
               basic -> Ctx0;
               contamination_detection -> Ctx0;
               _ -> start_registry(Ctx0, maps:get(registry_starter, O,
                                                  fun supertester_registry:start_link/1))
           end,
    Ctx = case Mode of
              contamination_detection ->
                  {ok, Snapshot} = supertester_nif:iso_snapshot(processes(), ets:all(), registered()),
                  Ctx1#{snapshot := Snapshot};
              _ ->
                  Ctx1
          end,
    case maps:get(auto_teardown, O, true) of
        true -> ok = watch_owner(Ctx);
        false -> ok
    end,
    _ = put_current(Ctx),
    Ctx.

%% @doc From now on, clean the context up when its owner exits without
%% teardown (the janitor does it). For contexts made with
%% `auto_teardown => false' whose caller finds no other way to clean up.
-spec watch_owner(ctx()) -> ok.
watch_owner(#{record := Record, owner := Owner}) ->
    case supertester_nif:iso_record_watch(Record, Owner, supertester_janitor:ensure()) of
        ok -> ok;
        {error, noproc} -> cleanup_record(Record); % the owner is already gone
        {error, closed} -> ok
    end.

start_registry(Ctx, Starter) ->
    Info = #{module => registry, role => registry},
    case start_tracked(Ctx, supertester_registry, Starter, #{kind => otp, info => Info}) of
        {ok, _Pid, Name} -> Ctx#{registry := Name};
        {error, Reason} -> erlang:error({registry_start_failed, Reason})
    end.

%% @doc The calling process's current context, or `undefined'.
-spec current() -> ctx() | undefined.
current() -> get(?CURRENT).

%% @doc Makes `Ctx' the calling process's current context (`undefined'
%% clears it); returns it.
-spec put_current(ctx() | undefined) -> ctx() | undefined.
put_current(undefined) -> erase(?CURRENT), undefined;
put_current(Ctx) -> put(?CURRENT, Ctx), Ctx.

%% @doc The current context. A process without one uses the context of
%% the process it works for: the first of its `$callers' (Elixir tasks) and
%% then `$ancestors' (processes started with proc_lib) that has one, so
%% what a test's helper processes start belongs to the test. Failing that,
%% a `basic' context is made for the calling process, cleaned up when it
%% exits.
-spec ensure() -> ctx().
ensure() ->
    case current() of
        undefined ->
            case inherited() of
                undefined -> setup(basic);
                Ctx -> put_current(Ctx)
            end;
        Ctx ->
            Ctx
    end.

%% @doc The context of the first of the caller's `$callers' and
%% `$ancestors' that has one, or `undefined'.
-spec inherited() -> ctx() | undefined.
inherited() ->
    %% $ancestors holds registered names for named ancestors.
    Owners = [supertester_lib:resolve(P) || Key <- ['$callers', '$ancestors'], P <- as_list(get(Key))],
    first_context([P || P <- Owners, is_pid(P)]).

as_list(L) when is_list(L) -> L;
as_list(_) -> [].

first_context([]) ->
    undefined;
first_context([Pid | Rest]) ->
    %% OTP 25 reads a whole dictionary (one key at a time came in OTP 26).
    Dictionary = case process_info(Pid, dictionary) of
                     {dictionary, D} -> D;
                     undefined -> []
                 end,
    case lists:keyfind(?CURRENT, 1, Dictionary) of
        {?CURRENT, #{record := _} = Ctx} -> Ctx;
        _ -> first_context(Rest)
    end.

%% @equiv with(Mode, #{}, Fun)
-spec with(mode(), fun((ctx()) -> Result)) -> Result.
with(Mode, Fun) -> with(Mode, #{}, Fun).

%% @doc Runs `Fun(Ctx)' inside a fresh context and tears it down
%% afterwards, whether `Fun' returns or raises. The previous current
%% context is restored.
-spec with(mode(), supertester_lib:options(), fun((ctx()) -> Result)) -> Result.
with(Mode, Opts, Fun) ->
    Previous = current(),
    Ctx = setup(Mode, maps:merge(#{auto_teardown => false}, supertester_lib:options(with, Opts, [tags, registry_starter, contamination]))),
    try
        Fun(Ctx)
    after
        _ = teardown(Ctx),
        put_current(Previous)
    end.

%% @doc An EUnit fixture: a context in `Mode' for a group of tests, torn
%% down after the last one. EUnit runs each test in a process of its own,
%% so every test is given the context and runs with it as its current one:
%% ```
%% counter_test_() ->
%%     supertester_isolation:fixture(full_isolation,
%%         [fun(_Ctx) ->
%%                  {ok, Pid} = supertester_otp:setup_isolated_genserver(my_counter),
%%                  ?assertEqual(ok, supertester_genserver:cast_and_sync(Pid, inc))
%%          end]).
%% '''
-spec fixture(mode(), [fun((ctx()) -> term())]) -> tuple().
fixture(Mode, Tests) when is_list(Tests) ->
    lists:foreach(fun(T) -> supertester_lib:check_fun(tests, T, 1) end, Tests),
    {setup,
     fun() -> setup(Mode, #{auto_teardown => false}) end,
     fun teardown/1,
     fun(Ctx) -> [fun() -> _ = put_current(Ctx), Test(Ctx) end || Test <- Tests] end}.

%% @doc Stops, deletes and runs everything the context recorded, newest
%% first, then (in contamination_detection mode) reports what the test left
%% behind and removes it. Returns `ok', or `{leaked, Leaks}' when the
%% context's `contamination' option is `warn' or `report' and something
%% leaked; with `fail' a leak raises an assertion failure instead. Safe to
%% call twice: the second call finds nothing left to do.
-spec teardown(ctx()) -> ok | {leaked, leaks()}.
teardown(#{record := Record} = Ctx) ->
    cleanup_record(Record),
    _ = case current() of
            #{record := Record} -> put_current(undefined);
            _ -> ok
        end,
    case maps:get(snapshot, Ctx) of
        undefined -> ok;
        _ -> handle_leaks(Ctx, leaks(Ctx))
    end.

%% @doc Undoes everything a record holds, newest first. Used by teardown
%% and by the janitor when a test's process exits without teardown.
-spec cleanup_record(reference()) -> ok.
cleanup_record(Record) ->
    lists:foreach(fun undo/1, supertester_nif:iso_record_take(Record)).

undo({process, Pid, Info, Name}) ->
    supertester_proc:stop(Pid, maps:get(kind, Info, process), ?STOP_TIMEOUT),
    release(Name);
undo({ets, Table, _Info, none}) ->
    catch ets:delete(Table),
    ok;
undo({cleanup, Fun, Info, none}) ->
    try
        _ = Fun(),
        ok
    catch
        Class:Reason:Stack ->
            logger:warning("Supertester cleanup ~0p failed: ~0p:~0p~n~0p",
                           [Info, Class, Reason, Stack])
    end.

release(none) -> ok;
release({PoolKey, Slot}) -> _ = supertester_nif:iso_name_release(PoolKey, Slot), ok.

%% Tracking ----------------------------------------------------------------

%% @doc Starts a process with `Start' (given the name to register, or
%% `none' when `Pool' is `none') without linking it to the caller, and
%% tracks it in the context. Options: `kind' (`otp', the default, or
%% `process': how it is stopped), `info' (a map kept with it), `timeout'
%% (ms, for the start, default 5000), `linked' (default true: `Start' links
%% the new process to its caller, so it runs in a helper that unlinks it;
%% false when `Start' already starts it unlinked and bounds its own wait,
%% as gen_server:start/4 does). Returns the pid and the name used.
-spec start_tracked(ctx(), atom() | none, fun((atom() | none) -> term()), map()) ->
          {ok, pid(), atom() | none} | {error, term()}.
start_tracked(Ctx, Pool, Start, Opts) ->
    Kind = maps:get(kind, Opts, otp),
    Info = (maps:get(info, Opts, #{}))#{kind => Kind},
    Timeout = maps:get(timeout, Opts, ?STOP_TIMEOUT),
    Run = case maps:get(linked, Opts, true) of
              true -> fun(Name) -> supertester_proc:start_unlinked(fun() -> Start(Name) end, Timeout) end;
              false -> fun(Name) -> normalize_start(Start(Name)) end
          end,
    start_named(Ctx, Pool, Run, Info, ?NAME_ATTEMPTS, []).

normalize_start({ok, Pid}) when is_pid(Pid) -> {ok, Pid};
normalize_start({error, _} = Error) -> Error;
normalize_start(ignore) -> {error, ignore};
normalize_start(Other) -> {error, {bad_return, Other}}.

%% A name can still be registered to a process that is dying (its slot
%% already back in the pool): then the next slot is tried, the taken one
%% held aside meanwhile so it is not handed straight back.
start_named(Ctx, none, Run, Info, _Attempts, []) ->
    case Run(none) of
        {ok, Pid} -> track_started(Ctx, Pid, Info#{name => undefined}, none);
        Error -> Error
    end;
start_named(Ctx, Pool, Run, Info, Attempts, HeldAside) ->
    {Name, Slot} = supertester_nif:iso_name_acquire(Pool),
    case Run(Name) of
        {ok, Pid} ->
            lists:foreach(fun release/1, HeldAside),
            track_started(Ctx, Pid, Info#{name => Name}, {Pool, Slot});
        {error, {already_started, _}} when Attempts > 1 ->
            start_named(Ctx, Pool, Run, Info, Attempts - 1, [{Pool, Slot} | HeldAside]);
        Error ->
            lists:foreach(fun release/1, [{Pool, Slot} | HeldAside]),
            Error
    end.

track_started(#{record := Record}, Pid, Info, NameSpec) ->
    Tracked = case NameSpec of
                  none -> supertester_nif:iso_record_track(Record, process, Pid, Info);
                  _ -> supertester_nif:iso_record_track_process(Record, Pid, Info, NameSpec)
              end,
    case Tracked of
        {ok, _Seq} ->
            {ok, Pid, maps:get(name, Info)};
        {error, noproc} ->
            %% Died right after starting: nothing to clean, its name is free.
            release(NameSpec),
            {error, {died_after_start, Pid}};
        {error, closed} ->
            release(NameSpec),
            supertester_proc:stop(Pid, maps:get(kind, Info), ?STOP_TIMEOUT),
            {error, isolation_context_closed}
    end.

%% @doc Tracks a process the test started itself, so teardown stops it.
%% `Info' may say `kind => otp' (stopped through its terminate) or
%% `process' (an exit signal, the default).
-spec track_process(ctx(), pid(), map()) -> ok | {error, exists | noproc | closed}.
track_process(#{record := Record}, Pid, Info) when is_pid(Pid), is_map(Info) ->
    case supertester_nif:iso_record_track(Record, process, Pid, maps:merge(#{kind => process}, Info)) of
        {ok, _} -> ok;
        Error -> Error
    end.

%% @doc Tracks an ETS table so teardown deletes it.
-spec track_ets(ctx(), ets:table()) -> ok | {error, exists | closed}.
track_ets(#{record := Record}, Table) ->
    case supertester_nif:iso_record_track(Record, ets, Table, #{}) of
        {ok, _} -> ok;
        Error -> Error
    end.

%% @doc Stops tracking a table (deleted by the test itself, say).
-spec untrack_ets(ctx(), ets:table()) -> ok | {error, not_found}.
untrack_ets(#{record := Record}, Table) ->
    supertester_nif:iso_record_untrack(Record, ets, Table).

%% @doc Adds an action (a fun of arity 0) teardown runs, in LIFO order
%% with everything else.
-spec add_cleanup(ctx(), fun(() -> term())) -> ok | {error, closed}.
add_cleanup(#{record := Record}, Fun) ->
    _ = supertester_lib:check_fun(cleanup, Fun, 0),
    case supertester_nif:iso_record_track(Record, cleanup, Fun, #{}) of
        {ok, _} -> ok;
        Error -> Error
    end.

%% @doc What the context holds now, newest first: `{process, Pid, Info}',
%% `{ets, Table, Info}', `{cleanup, Fun, Info}'. Dead processes are gone.
-spec tracked(ctx()) -> [{process | ets | cleanup, term(), map()}].
tracked(#{record := Record}) ->
    [{Kind, Key, Info} || {Kind, Key, Info, _Name} <- supertester_nif:iso_record_entries(Record)].

%% @doc Whether isolation held so far: in contamination_detection mode,
%% nothing appeared that the context does not track; in the other modes,
%% every tracked process is still alive (dead ones have already left the
%% record, so this holds unless the context was torn down).
-spec verify(ctx()) -> boolean().
verify(#{snapshot := undefined, record := Record}) ->
    lists:all(fun({process, Pid, _, _}) -> is_process_alive(Pid); (_) -> true end,
              supertester_nif:iso_record_entries(Record));
verify(Ctx) ->
    Tracked = [Key || {_Kind, Key, _Info} <- tracked(Ctx)],
    Accounted = fun(Pid) -> descends_from(Pid, Tracked, 32) end,
    #{processes := Ps, ets := Ts, names := Ns} = leaks(Ctx),
    lists:all(fun(#{pid := P}) -> Accounted(P) end, Ps) andalso
        lists:all(fun(#{id := T, owner := Owner}) ->
                          lists:member(T, Tracked) orelse Accounted(Owner)
                  end, Ts) andalso
        lists:all(fun(#{pid := P}) -> Accounted(P) end, Ns).

%% Whether Pid is one of Roots or was started, through its chain of
%% parents, by one of them (a tracked supervisor's children belong to it).
descends_from(Pid, Roots, Depth) ->
    lists:member(Pid, Roots) orelse
        (Depth > 0 andalso
         case is_pid(Pid) andalso process_info(Pid, parent) of
             {parent, Parent} when is_pid(Parent) -> descends_from(Parent, Roots, Depth - 1);
             _ -> false
         end).

%% Contamination -----------------------------------------------------------

%% @doc What appeared since the context's snapshot and is still there:
%% processes (pid, initial call, name), ETS tables (id, name, owner,
%% size) and registered names. The calling process and Supertester's own
%% processes are left out. Empty when the context has no snapshot.
-spec leaks(ctx()) -> leaks().
leaks(#{snapshot := undefined}) ->
    #{processes => [], ets => [], names => []};
leaks(#{snapshot := Snapshot}) ->
    #{processes := #{added := Procs}, ets := #{added := Tables}, names := #{added := Names}} =
        supertester_nif:iso_snapshot_diff(Snapshot, processes(), ets:all(), registered()),
    Own = [self(), whereis(supertester_janitor)],
    #{processes => [P || Pid <- Procs, not lists:member(Pid, Own), P <- describe_process(Pid)],
      ets => [T || Table <- Tables, T <- describe_table(Table)],
      names => [N || Name <- Names, not lists:member(whereis(Name), Own), N <- describe_name(Name)]}.

describe_process(Pid) ->
    case supertester_proc:describe(Pid) of
        undefined -> [];
        Info -> [Info]
    end.

describe_table(Table) ->
    case ets:info(Table) of
        undefined -> [];
        Info -> [#{id => Table, name => proplists:get_value(name, Info),
                   owner => proplists:get_value(owner, Info),
                   size => proplists:get_value(size, Info)}]
    end.

describe_name(Name) ->
    case whereis(Name) of
        undefined -> [];
        Pid -> [#{name => Name, pid => Pid}]
    end.

%% @doc A readable account of leaks, one line per item.
-spec format_leaks(leaks()) -> binary().
format_leaks(#{processes := Ps, ets := Ts, names := Ns}) ->
    Lines = [io_lib:format("  process ~p, initial call ~s~s~n",
                           [P, format_mfa(IC), format_name(Name)])
             || #{pid := P, initial_call := IC, name := Name} <- Ps] ++
        [io_lib:format("  ETS table ~0p (name ~0p, owner ~p, ~b objects)~n", [Id, Name, Owner, Size])
         || #{id := Id, name := Name, owner := Owner, size := Size} <- Ts] ++
        [io_lib:format("  registered name ~0p (process ~p)~n", [Name, Pid])
         || #{name := Name, pid := Pid} <- Ns],
    unicode:characters_to_binary(
      [io_lib:format("Test contamination: ~b process(es), ~b ETS table(s) and ~b registered "
                     "name(s) were left behind:~n", [length(Ps), length(Ts), length(Ns)]),
       Lines]).

format_mfa({M, F, A}) -> io_lib:format("~s:~s/~b", [M, F, A]);
format_mfa(Other) -> io_lib:format("~0p", [Other]).

format_name(undefined) -> "";
format_name(Name) -> io_lib:format(", registered as ~0p", [Name]).

handle_leaks(_Ctx, #{processes := [], ets := [], names := []}) ->
    ok;
handle_leaks(#{contamination := Action, tags := Tags}, Leaks) ->
    remove_leaks(Leaks),
    Message = [format_leaks(Leaks), io_lib:format("Test: ~0p", [Tags])],
    case Action of
        fail -> supertester_lib:assertion_failed(contamination_detection, Message, Leaks);
        warn -> logger:warning("~ts", [Message]), {leaked, Leaks};
        report -> {leaked, Leaks}
    end.

%% What leaked is removed after being reported, so later tests start clean;
%% except processes linked to the caller, which die with it (stopping them
%% here would stop the caller too).
remove_leaks(#{processes := Ps, ets := Ts}) ->
    {links, Links} = process_info(self(), links),
    lists:foreach(fun(#{pid := P}) ->
                          lists:member(P, Links) orelse supertester_proc:stop(P, process, ?STOP_TIMEOUT)
                  end, Ps),
    lists:foreach(fun(#{id := Id}) -> catch ets:delete(Id) end, Ts).

%% @doc Names held now and names ever created by the pools (each one an
%% atom): the second grows with peak concurrency, not with tests run.
-spec name_stats() -> #{in_use := non_neg_integer(), created := non_neg_integer()}.
name_stats() -> supertester_nif:iso_name_stats().
