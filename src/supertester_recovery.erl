%% @doc Waiting for a supervisor to recover, from its trace events.
%%
%% A restart is something a supervisor does: it receives the child's
%% `'EXIT'', spawns the replacement, and receives the replacement's start
%% acknowledgement after the replacement has registered its name. A watch
%% is a trace session on the supervisor that sends each of these events to
%% the waiting process the moment it happens, so a condition such as "the
%% name points to a new live process" is checked exactly when it can have
%% become true: no polling interval, no sleep.
%%
%% When the supervisor is unknown, or already traced by someone else (a
%% process has a single tracer and a session never takes it over), waiting
%% falls back to checking with a short back-off
%% ({@link supertester_lib:wait_until/2}).
-module(supertester_recovery).

-export([watch/1, unwatch/1, await/3, supervisor_of/1, remember_crash/2,
         crashed_parent/1, await_exit_handled/4]).

-export_type([watch/0]).

-type watch() :: supertester_trace:session() | none.

%% @doc Starts watching `Supervisor' for the caller; `none' when it cannot
%% be traced (it is dead, not local, or traced by someone else).
-spec watch(pid() | undefined) -> watch().
watch(Sup) when is_pid(Sup), node(Sup) =:= node() ->
    case catch supertester_trace:start([Sup], #{events => [spawn, 'receive', exit],
                                                notify => self(),
                                                max_events => 0,
                                                max_rate => 100000,
                                                capacity => 1024,
                                                max_message_bytes => 1024}) of
        {ok, Session} ->
            case supertester_trace:targets(Session) of
                [Sup] -> Session;
                [] -> _ = supertester_trace:stop(Session), none
            end;
        _ ->
            none
    end;
watch(_) ->
    none.

-spec unwatch(watch()) -> ok.
unwatch(none) -> ok;
unwatch(Session) ->
    _ = supertester_trace:stop(Session),
    ok.

%% @doc Evaluates `Check' now and again after each event of the watch,
%% until it returns `{true, Value}' or `Deadline' (monotonic ms, or
%% infinity) passes.
-spec await(fun(() -> {true, Value} | term()), watch(), integer() | infinity) ->
          {ok, Value} | {error, timeout}.
await(Check, none, Deadline) ->
    supertester_lib:wait_until(Check, supertester_lib:remaining(Deadline));
await(Check, Session, Deadline) ->
    case Check() of
        {true, Value} -> {ok, Value};
        _ -> await_event(Check, Session, supertester_trace:session_ref(Session), Deadline)
    end.

await_event(Check, Session, Ref, Deadline) ->
    receive
        {supertester_trace_event, Ref, _} ->
            coalesce(Ref),
            await(Check, Session, Deadline);
        {supertester_trace_stopped, Ref, _} ->
            %% A limit stopped the watch: carry on without events.
            await(Check, none, Deadline)
    after supertester_lib:remaining(Deadline) ->
            case Check() of
                {true, Value} -> {ok, Value};
                _ -> {error, timeout}
            end
    end.

%% Several events usually come together (spawn, link, ack): one check for
%% all of those already here.
coalesce(Ref) ->
    receive {supertester_trace_event, Ref, _} -> coalesce(Ref)
    after 0 -> ok
    end.

%% @doc Waits until the supervisor watched by `Session' has handled the
%% death of `Child' (it received the `'EXIT'') and finished what it does
%% about it: its answer to `which_children', asked after, comes after the
%% restart. Returns the children then, or `{error, supervisor_down}', or
%% `{error, timeout}'.
-spec await_exit_handled(pid(), pid(), watch(), integer() | infinity) ->
          {ok, [tuple()]} | {error, supervisor_down | timeout}.
await_exit_handled(Sup, Child, none, Deadline) ->
    %% No events: the child's death is certain (monitor), the supervisor's
    %% handling of it is not; accept the first answer that no longer lists
    %% the dead pid.
    _ = supertester_otp:wait_for_process_death(Child, supertester_lib:remaining(Deadline)),
    case supertester_lib:wait_until(
           fun() -> case children(Sup) of
                        {ok, Cs} -> {lists:keymember(Child, 2, Cs) =:= false, {ok, Cs}};
                        Down -> {true, Down}
                    end
           end, supertester_lib:remaining(Deadline)) of
        {ok, Result} -> Result;
        {error, timeout} -> {error, timeout}
    end;
await_exit_handled(Sup, Child, Session, Deadline) ->
    Ref = supertester_trace:session_ref(Session),
    receive
        {supertester_trace_event, Ref, {_, _, Sup, 'receive', {'EXIT', Child, _}, _}} ->
            children(Sup);
        {supertester_trace_event, Ref, {_, _, Sup, exit, _, _}} ->
            {error, supervisor_down}
    after supertester_lib:remaining(Deadline) ->
            {error, timeout}
    end.

%% A supervisor that does not answer within a minute counts as gone.
children(Sup) ->
    case supertester_sup:children(Sup, 60000) of
        {ok, Children} -> {ok, Children};
        {error, _} -> {error, supervisor_down}
    end.

%% @doc The supervisor of a process: its parent when that runs a
%% supervisor, else the one remembered when it was crashed, else
%% `undefined'.
-spec supervisor_of(pid()) -> pid() | undefined.
supervisor_of(Pid) when is_pid(Pid), node(Pid) =:= node() ->
    case erlang:process_info(Pid, parent) of
        {parent, Parent} when is_pid(Parent) ->
            case supertester_sup:is_supervisor(Parent) of
                true -> Parent;
                false -> undefined
            end;
        _ ->
            crashed_parent(Pid)
    end;
supervisor_of(_) ->
    undefined.

%% @doc Remembers, in the caller's process dictionary, the parent of a
%% process it is about to crash, so a later wait knows which supervisor to
%% watch after the process is gone.
-spec remember_crash(pid(), pid() | undefined) -> ok.
remember_crash(Pid, Parent) ->
    _ = put({supertester_crashed, Pid}, Parent),
    ok.

-spec crashed_parent(pid()) -> pid() | undefined.
crashed_parent(Pid) ->
    case get({supertester_crashed, Pid}) of
        Parent when is_pid(Parent) -> Parent;
        _ -> undefined
    end.
