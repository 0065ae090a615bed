%% @doc Crash and recovery checks (LetItCrash 0.6.0's API, for EUnit and
%% Common Test; the Elixir module LetItCrash delegates here).
%%
%% ```
%% Old = whereis(my_server),
%% ok = supertester_crash:crash(my_server),
%% true = supertester_crash:'recovered?'(my_server, Old).
%% '''
%%
%% Recovery is seen from the supervisor's trace events (see
%% {@link supertester_recovery}): `recovered?' returns within microseconds of
%% the new process registering, and a failing check reports what happened.
%% The `interval' option of LetItCrash is accepted for compatibility and
%% unused: nothing here polls at an interval.
-module(supertester_crash).

-export([crash/1, crash/2, 'recovered?'/1, 'recovered?'/2, 'recovered?'/3,
         wait_for_process/1, wait_for_process/2, wait_for_exit/1, wait_for_exit/2,
         test_restart/2, test_restart/3, verify_ets_cleanup/2, verify_ets_cleanup/3,
         assert_supervision_impact/3, start_tracking/0, await_recovery/3]).

-define(RECOVERY_TIMEOUT, 1000).

%% @doc Sends `shutdown' (default) or `kill' to a pid or registered name,
%% after remembering its supervisor and name so that recovery checks know
%% what to watch once it is gone. `{error, not_found}' when nothing is
%% registered under the name; `{error, {not_a_process, Term}}' for a
%% non-process.
-spec crash(pid() | atom()) -> ok | {error, term()}.
crash(Process) ->
    crash(Process, shutdown).

-spec crash(pid() | atom(), shutdown | kill | term()) -> ok | {error, term()}.
crash(Process, Type) when is_pid(Process); is_atom(Process) ->
    case supertester_lib:resolve(Process) of
        Pid when is_pid(Pid) ->
            supertester_recovery:remember_crash(Pid, supertester_recovery:supervisor_of(Pid)),
            remember_name(Pid),
            remember_tables(Pid),
            exit(Pid, Type),
            ok;
        undefined ->
            {error, not_found}
    end;
crash(Other, _Type) ->
    {error, {not_a_process, Other}}.

remember_name(Pid) ->
    case registered_name(Pid) of
        undefined -> ok;
        Name -> _ = put({supertester_crashed_name, Name}, Pid), ok
    end.

%% The tables the process owns go with it: verify_ets_cleanup compares
%% their owner later with this one.
remember_tables(Pid) ->
    _ = [put({supertester_crashed_table, table_key(T)}, Pid)
         || T <- ets:all(), catch ets:info(T, owner) =:= Pid],
    ok.

table_key(Table) ->
    case catch ets:info(Table, named_table) of
        true -> ets:info(Table, name);
        _ -> Table
    end.

%% @doc Whether the process registered as `Name' was restarted: the name
%% points to a live process other than the original one within `timeout'
%% ms (default 1000). The original is the pid given, else the one last
%% crashed under that name by this process, else the one registered when
%% {@link start_tracking/0} ran, else the one registered now.
-spec 'recovered?'(atom()) -> boolean().
'recovered?'(Name) ->
    'recovered?'(Name, []).

-spec 'recovered?'(atom(), pid() | supertester_lib:options()) -> boolean().
'recovered?'(Name, Original) when is_pid(Original) ->
    'recovered?'(Name, Original, []);
'recovered?'(Name, Opts) ->
    'recovered?'(Name, original(Name), Opts).

-spec 'recovered?'(atom(), pid() | undefined, supertester_lib:options()) -> boolean().
'recovered?'(Name, Original, Opts0) ->
    Opts = supertester_lib:options('recovered?', Opts0, [timeout, interval]),
    Timeout = timeout(Opts, ?RECOVERY_TIMEOUT),
    _ = supertester_lib:check_non_neg_integer(interval, maps:get(interval, Opts, 50)),
    case await_recovery(Name, Original, supertester_lib:deadline(Timeout)) of
        {ok, _} -> true;
        {error, _} -> false
    end.

%% The `timeout' option (ms), checked.
timeout(Opts, Default) ->
    supertester_lib:check_timeout(timeout, maps:get(timeout, Opts, Default)).

original(Name) ->
    case get({supertester_crashed_name, Name}) of
        Pid when is_pid(Pid) -> Pid;
        undefined ->
            case get({supertester_tracked, Name}) of
                Pid when is_pid(Pid) -> Pid;
                undefined -> whereis(Name)
            end
    end.

%% @doc Waits until `Name' is registered to a live process other than
%% `Original', watching the original's supervisor.
-spec await_recovery(term(), pid() | undefined, integer() | infinity) ->
          {ok, pid()} | {error, timeout}.
await_recovery(Name, Original, Deadline) ->
    Check = registered_anew(Name, Original),
    case Check() of
        {true, Pid} -> {ok, Pid};
        _ ->
            Sup = case is_pid(Original) of
                      true -> supertester_recovery:supervisor_of(Original);
                      false -> undefined
                  end,
            Watch = supertester_recovery:watch(Sup),
            try supertester_recovery:await(Check, Watch, Deadline)
            after supertester_recovery:unwatch(Watch)
            end
    end.

%% @doc Waits for a registered process to exist and be alive (default
%% timeout 1000 ms). `ok' or `{error, timeout}'.
-spec wait_for_process(atom()) -> ok | {error, timeout}.
wait_for_process(Name) ->
    wait_for_process(Name, []).

-spec wait_for_process(atom(), supertester_lib:options()) -> ok | {error, timeout}.
wait_for_process(Name, Opts0) ->
    Opts = supertester_lib:options(wait_for_process, Opts0, [timeout, interval]),
    Timeout = timeout(Opts, ?RECOVERY_TIMEOUT),
    Crashed = get({supertester_crashed_name, Name}),
    Original = case is_pid(Crashed) of true -> Crashed; false -> undefined end,
    case await_recovery(Name, Original, supertester_lib:deadline(Timeout)) of
        {ok, _} -> ok;
        {error, timeout} -> {error, timeout}
    end.

%% @doc Waits for a process to exit, on a monitor (default timeout 1000
%% ms). A process that is already gone gives `ok' at once.
-spec wait_for_exit(pid()) -> ok | {error, timeout}.
wait_for_exit(Pid) ->
    wait_for_exit(Pid, []).

-spec wait_for_exit(pid(), supertester_lib:options()) -> ok | {error, timeout}.
wait_for_exit(Pid, Opts0) when is_pid(Pid) ->
    Opts = supertester_lib:options(wait_for_exit, Opts0, [timeout]),
    Timeout = timeout(Opts, ?RECOVERY_TIMEOUT),
    case supertester_otp:wait_for_process_death(Pid, Timeout) of
        {ok, _Reason} -> ok;
        {error, timeout} -> {error, timeout}
    end;
wait_for_exit(Other, _Opts) ->
    supertester_lib:bad_arg(pid, Other, "a pid").

%% @doc Runs `TestFun' on the process, kills it (`kill', so processes that
%% trap exits go too), waits for its supervisor to restart it and runs
%% `TestFun' again. `ok', or `{error, Reason}' when the process cannot be
%% found, is not supervised or does not come back within `timeout' ms
%% (default 1000). What `TestFun' raises propagates.
-spec test_restart(pid() | atom(), fun(() -> term())) -> ok | {error, term()}.
test_restart(Process, TestFun) ->
    test_restart(Process, TestFun, []).

-spec test_restart(pid() | atom(), fun(() -> term()), supertester_lib:options()) ->
          ok | {error, term()}.
test_restart(Process, TestFun, Opts0) ->
    Opts = supertester_lib:options(test_restart, Opts0, [timeout]),
    Timeout = timeout(Opts, ?RECOVERY_TIMEOUT),
    _ = supertester_lib:check_fun(test_fn, TestFun, 0),
    case supertester_lib:resolve(Process) of
        Pid when is_pid(Pid) ->
            _ = TestFun(),
            case restart(Pid, Process, supertester_lib:deadline(Timeout)) of
                {ok, _NewPid} ->
                    _ = TestFun(),
                    ok;
                {error, _} = Error ->
                    Error
            end;
        undefined ->
            {error, not_found}
    end.

%% Kills Pid and waits for its replacement: by name when it has one, else
%% as the same child of its supervisor.
restart(Pid, Process, Deadline) ->
    Sup = supertester_recovery:supervisor_of(Pid),
    Name = case is_atom(Process) of
               true -> Process;
               false -> registered_name(Pid)
           end,
    ChildId = child_id(Sup, Pid),
    Watch = supertester_recovery:watch(Sup),
    try
        ok = crash(Pid, kill),
        Check = replacement_check(Name, ChildId, Sup, Pid),
        case supertester_recovery:await(Check, Watch, Deadline) of
            {ok, NewPid} -> {ok, NewPid};
            {error, timeout} when Sup =:= undefined -> {error, not_supervised};
            {error, timeout} -> {error, {not_recovered, #{supervisor => Sup, pid => Pid}}}
        end
    after
        supertester_recovery:unwatch(Watch)
    end.

replacement_check(Name, _ChildId, _Sup, Old) when Name =/= undefined ->
    registered_anew(Name, Old);
replacement_check(undefined, ChildId, Sup, Old) when is_pid(Sup) ->
    fun() ->
            case supertester_sup:children(Sup, 5000) of
                {ok, Children} ->
                    case lists:keyfind(ChildId, 1, Children) of
                        {_, Pid, _, _} when is_pid(Pid), Pid =/= Old -> {true, Pid};
                        _ -> false
                    end;
                {error, _} ->
                    false
            end
    end;
replacement_check(undefined, _ChildId, undefined, _Old) ->
    fun() -> false end.

%% A check (for supertester_recovery:await/3) that `Name' is registered to
%% a live process other than `Old'.
registered_anew(Name, Old) ->
    fun() ->
            case supertester_lib:resolve(Name) of
                Pid when is_pid(Pid), Pid =/= Old -> {is_process_alive(Pid), Pid};
                _ -> false
            end
    end.

registered_name(Pid) ->
    case erlang:process_info(Pid, registered_name) of
        {registered_name, Name} when is_atom(Name) -> Name;
        _ -> undefined
    end.

child_id(Sup, Pid) when is_pid(Sup) ->
    case supertester_sup:children(Sup, 5000) of
        {ok, Children} ->
            case lists:keyfind(Pid, 2, Children) of
                {Id, Pid, _, _} -> Id;
                false -> undefined
            end;
        {error, _} ->
            undefined
    end;
child_id(_Sup, _Pid) ->
    undefined.

%% @doc Checks what became of an ETS entry after a crash: by default that
%% it is gone (`expect_cleanup', default true) and, with
%% `expect_recreate' (default false), that it then comes back. A table
%% that disappeared with the crashed process counts as cleaned up, even
%% when its restarted successor already made a new one of the same name
%% (the owner crashed by {@link crash/2} is remembered). ETS announces
%% nothing, so this checks with a short back-off, at most `timeout' ms
%% (default 1000). `ok' or `{error, Reason}'.
-spec verify_ets_cleanup(atom() | ets:tid(), term()) -> ok | {error, term()}.
verify_ets_cleanup(Table, Key) ->
    verify_ets_cleanup(Table, Key, []).

-spec verify_ets_cleanup(atom() | ets:tid(), term(), supertester_lib:options()) ->
          ok | {error, term()}.
verify_ets_cleanup(Table, Key, Opts0) ->
    Opts = supertester_lib:options(verify_ets_cleanup, Opts0,
                                   [timeout, expect_cleanup, expect_recreate]),
    Timeout = timeout(Opts, ?RECOVERY_TIMEOUT),
    Deadline = supertester_lib:deadline(Timeout),
    Cleanup = maps:get(expect_cleanup, Opts, true),
    Recreate = maps:get(expect_recreate, Opts, false),
    Owner = case get({supertester_crashed_table, Table}) of
                Crashed when is_pid(Crashed) -> Crashed;
                undefined -> table_owner(Table)
            end,
    Present = fun() -> entry_present(Table, Key) end,
    case Cleanup of
        false ->
            case Present() of
                true -> ok;
                false -> {error, {entry_missing, Table, Key}}
            end;
        true ->
            %% Gone, or already back in a table with a new owner (cleaned
            %% and recreated before we looked).
            Cleaned = fun() -> (not Present()) orelse replaced(Table, Owner) end,
            case supertester_lib:wait_until(fun() -> {Cleaned(), ok} end,
                                            supertester_lib:remaining(Deadline)) of
                {error, timeout} ->
                    {error, {not_cleaned_up, Table, Key}};
                {ok, ok} when not Recreate ->
                    ok;
                {ok, ok} ->
                    case supertester_lib:wait_until(fun() -> {Present(), ok} end,
                                                    supertester_lib:remaining(Deadline)) of
                        {ok, ok} -> ok;
                        {error, timeout} -> {error, {not_recreated, Table, Key}}
                    end
            end
    end.

entry_present(Table, Key) ->
    try ets:member(Table, Key)
    catch error:badarg -> false % the table is gone
    end.

table_owner(Table) ->
    case catch ets:info(Table, owner) of
        Pid when is_pid(Pid) -> Pid;
        _ -> undefined
    end.

replaced(Table, OldOwner) ->
    case table_owner(Table) of
        undefined -> false;
        OldOwner -> false;
        _New -> true
    end.

%% @doc Crashes the child registered as `Target' (`signal', default
%% `shutdown') and checks that every process in `expect' reaches its
%% status: `restarted' (alive under a new pid), `alive' (same pid) or
%% `stopped' (not registered, or dead), optionally as `{Status, Fun}' where
%% `Fun' runs once the status is confirmed. The statuses are read after
%% the supervisor has handled the crash (seen in its trace), at most
%% `timeout' ms (default 2000) later. `ok', or `{error, {unexpected_impact,
%% Report}}' listing, per process, the status expected, the status seen
%% and the pids before and after.
-spec assert_supervision_impact(pid() | atom(), atom(), supertester_lib:options()) ->
          ok | {error, term()}.
assert_supervision_impact(SupRef, Target, Opts0) ->
    Opts = supertester_lib:options(assert_supervision_impact, Opts0,
                                   [expect, signal, timeout, interval]),
    Expect = case maps:find(expect, Opts) of
                 {ok, E} when is_list(E) -> [expectation(X) || X <- E];
                 {ok, Other} -> supertester_lib:bad_arg(expect, Other, "a keyword list");
                 error -> supertester_lib:bad_arg(expect, missing, "the required expect option")
             end,
    Signal = maps:get(signal, Opts, shutdown),
    Timeout = timeout(Opts, 2000),
    Deadline = supertester_lib:deadline(Timeout),
    Sup = supertester_lib:resolve_local_pid(supervisor, SupRef),
    case whereis(Target) of
        undefined ->
            {error, {not_found, Target}};
        TargetPid ->
            Before = [{Name, whereis(Name)} || {Name, _, _} <- Expect],
            Watch = supertester_recovery:watch(Sup),
            Handled = try
                          ok = crash(TargetPid, Signal),
                          supertester_recovery:await_exit_handled(Sup, TargetPid, Watch,
                                                                  Deadline)
                      after
                          supertester_recovery:unwatch(Watch)
                      end,
            impact(Handled, Expect, Before, TargetPid, Deadline)
    end.

expectation({Name, {Status, Fun}}) when is_atom(Name), is_function(Fun, 0) ->
    {Name, status(Status), Fun};
expectation({Name, Status}) when is_atom(Name) ->
    {Name, status(Status), undefined};
expectation(Other) ->
    supertester_lib:bad_arg(expect, Other, "{Name, Status} or {Name, {Status, Fun}}").

status(S) when S =:= restarted; S =:= alive; S =:= stopped -> S;
status(Other) -> supertester_lib:bad_arg(status, Other, "restarted, alive or stopped").

impact({error, timeout}, _Expect, _Before, TargetPid, _Deadline) ->
    {error, {target_not_handled, #{target => TargetPid,
                                   alive => is_process_alive(TargetPid)}}};
impact(_Handled, Expect, Before, _TargetPid, Deadline) ->
    %% A restarted process may register after its supervisor moved on
    %% (handle_continue): give the restarted ones until the deadline.
    Seen = [{Name, Status, Fun, seen(Name, Status, proplists:get_value(Name, Before), Deadline)}
            || {Name, Status, Fun} <- Expect],
    case [{Name, #{expected => Status, seen => S, before => B, now => N}}
          || {Name, Status, _Fun, {S, B, N}} <- Seen, S =/= Status] of
        [] ->
            _ = [Fun() || {_Name, _Status, Fun, _} <- Seen, Fun =/= undefined],
            ok;
        Mismatches ->
            {error, {unexpected_impact, maps:from_list(Mismatches)}}
    end.

seen(Name, restarted, Before, Deadline) ->
    _ = await_recovery(Name, Before, Deadline),
    observe(Name, Before);
seen(Name, _Status, Before, _Deadline) ->
    observe(Name, Before).

observe(Name, Before) ->
    Now = whereis(Name),
    Status = if
                 Now =:= undefined -> stopped;
                 Now =:= Before -> alive;
                 true -> restarted
             end,
    {Status, Before, Now}.

%% @doc Remembers the pid of every registered process now, so that
%% {@link 'recovered?'/1} without a pid compares with these.
-spec start_tracking() -> ok.
start_tracking() ->
    _ = [put({supertester_tracked, Name}, whereis(Name)) || Name <- registered()],
    ok.
