%% @doc Helpers for testing gen_servers: the Erlang side of
%% `Supertester.GenServerHelpers'.
%%
%% Servers may be given as a pid, a registered name, `{global, Name}' or
%% `{via, Module, Name}'. Nothing here sleeps: every wait is a reply, a
%% monitor or a bounded `receive ... after'.
%%
%% Synchronising with a server. A call is handled after every message sent
%% to the server before it, so a call after a cast returns once the cast
%% was handled. `cast_and_sync' uses the `__supertester_sync__' call that
%% `Supertester.TestableGenServer' (Elixir) or the `supertester_testable'
%% parse transform (Erlang) inject. For a server without it, 0.5.1 sent the
%% call anyway and crashed the server; here, unless `strict?' is set, the
%% barrier is `sys:get_state/2' instead: a system message, handled in the
%% same order, that every gen_server answers.
-module(supertester_genserver).

-export([get_server_state_safely/1, call_with_timeout/2, call_with_timeout/3,
         cast_and_sync/2, cast_and_sync/3, cast_and_sync/4, sync/2,
         concurrent_calls/2, concurrent_calls/3, concurrent_calls/4,
         stress_test_server/2, stress_test_server/3, stress_test_server/4,
         test_server_crash_recovery/2, test_invalid_messages/2]).
-export([has_sync_handler/1, cast_sync_fun/3]).

-export_type([server/0]).

-type server() :: pid() | atom() | {global, term()} | {via, module(), term()}.

-define(SYNC, '__supertester_sync__').

%% @doc The server's state, through `sys:get_state/2' (5 s), or the reason
%% it could not be read.
-spec get_server_state_safely(server()) -> {ok, term()} | {error, term()}.
get_server_state_safely(Server) ->
    _ = supertester_lib:check_process_ref(server, Server),
    try sys:get_state(Server, 5000) of
        State -> {ok, State}
    catch
        exit:Reason -> {error, exit_reason(Reason)}
    end.

%% @equiv call_with_timeout(Server, Message, 1000)
-spec call_with_timeout(server(), term()) -> {ok, term()} | {error, term()}.
call_with_timeout(Server, Message) -> call_with_timeout(Server, Message, 1000).

%% @doc A call that returns `{error, noproc | timeout | Reason}' instead of
%% exiting.
-spec call_with_timeout(server(), term(), timeout()) -> {ok, term()} | {error, term()}.
call_with_timeout(Server, Message, Timeout) ->
    _ = supertester_lib:check_process_ref(server, Server),
    _ = supertester_lib:check_timeout(timeout, Timeout),
    try gen_server:call(Server, Message, Timeout) of
        Reply -> {ok, Reply}
    catch
        exit:Reason -> {error, exit_reason(Reason)}
    end.

%% `{noproc, {gen_server, call, ...}}' and friends: keep the first element.
exit_reason({Reason, {gen_server, _, _}}) -> Reason;
exit_reason({Reason, {sys, _, _}}) -> Reason;
exit_reason(Reason) -> Reason.

%% @equiv cast_and_sync(Server, Message, '__supertester_sync__', [])
cast_and_sync(Server, Message) -> cast_and_sync(Server, Message, ?SYNC, []).

%% @equiv cast_and_sync(Server, Message, SyncMessage, [])
cast_and_sync(Server, Message, SyncMessage) -> cast_and_sync(Server, Message, SyncMessage, []).

%% @doc Casts `Message', then returns once the server has handled it.
%% With the default sync message, the reply is `ok' (or `{ok, State}' for
%% `{__supertester_sync__, [{return_state, true}]}'). Options:
%% <ul>
%% <li>`timeout' (ms, default 5000) for the synchronising call;</li>
%% <li>`strict?' (default false): require a real sync handler. Raises a
%%   `badarg' error (ArgumentError in Elixir) when the server has none:
%%   when the call crashes it, or when it answers with an error, as a
%%   catch-all `handle_call' does.</li>
%% </ul>
%% Without `strict?', a server that lacks the handler is synchronised
%% through `sys:get_state' and the result is `ok'; any other reply to a
%% custom sync message comes back as `{ok, Reply}'.
-spec cast_and_sync(server(), term(), term(), supertester_lib:options()) ->
          ok | {ok, term()} | {error, term()}.
cast_and_sync(Server, Message, SyncMessage, Opts) ->
    Await = cast_sync_fun(Server, SyncMessage, Opts),
    ok = gen_server:cast(Server, Message),
    Await().

%% @doc The second half of {@link cast_and_sync/4} as a function to call
%% after each cast: it returns once the server has handled what was sent
%% before. The options are checked and the server's sync handler looked up
%% once, for a caller that casts many times (the concurrency harness).
-spec cast_sync_fun(server(), term(), supertester_lib:options()) ->
          fun(() -> ok | {ok, term()} | {error, term()}).
cast_sync_fun(Server, SyncMessage, Opts) ->
    _ = supertester_lib:check_process_ref(server, Server),
    O = supertester_lib:options(cast_and_sync, Opts, ['strict?', timeout]),
    Strict = maps:get('strict?', O, false),
    is_boolean(Strict) orelse supertester_lib:bad_arg('strict?', Strict, "true or false"),
    Timeout = supertester_lib:check_timeout(timeout, maps:get(timeout, O, 5000)),
    case SyncMessage =:= ?SYNC andalso not Strict andalso not has_sync_handler(Server) of
        true -> fun() -> barrier(Server, false, Timeout) end;
        false -> fun() -> sync_call(Server, SyncMessage, Timeout, Strict) end
    end.

sync_call(Server, SyncMessage, Timeout, Strict) ->
    try gen_server:call(Server, SyncMessage, Timeout) of
        ok -> ok;
        {ok, _} = Reply -> Reply;
        Reply when Strict -> no_sync_handler(Server, io_lib:format("it replied ~0tp", [Reply]));
        {error, unknown_call} -> ok;
        Reply -> {ok, Reply}
    catch
        exit:{noproc, _} -> {error, noproc};
        exit:{timeout, _} -> {error, timeout};
        exit:Reason when Strict ->
            no_sync_handler(Server, io_lib:format("the call made it exit: ~0tp",
                                                  [crash_cause(exit_reason(Reason))]));
        exit:Reason -> {error, exit_reason(Reason)}
    end.

%% {function_clause, Stacktrace} -> function_clause: the cause, not the trail.
crash_cause({Cause, [{_, _, _, _} | _]}) -> Cause;
crash_cause(Reason) -> Reason.

-spec no_sync_handler(server(), iodata()) -> no_return().
no_sync_handler(Server, What) ->
    supertester_lib:bad_arg(server, Server,
                            ["a server that handles the __supertester_sync__ call (", What,
                             "); add `use Supertester.TestableGenServer' (Elixir) or "
                             "`-compile({parse_transform, supertester_testable}).' (Erlang)"]).

%% @doc Returns once the server has handled every message sent to it
%% before: through its sync handler when it has one, `sys:get_state'
%% otherwise. `{error, noproc | timeout | Reason}' when it cannot answer.
-spec sync(server(), timeout()) -> ok | {error, term()}.
sync(Server, Timeout) ->
    barrier(Server, has_sync_handler(Server), Timeout).

barrier(Server, HasSyncHandler, Timeout) ->
    try
        case HasSyncHandler of
            true -> ok = gen_server:call(Server, ?SYNC, Timeout);
            false -> _ = sys:get_state(Server, Timeout)
        end,
        ok
    catch
        exit:Reason -> {error, exit_reason(Reason)};
        error:{badmatch, Reply} -> {error, {unexpected_sync_reply, Reply}}
    end.

%% @doc Whether the server's callback module has the sync handler injected
%% by TestableGenServer or the parse transform (they define
%% `__supertester_testable__/0').
-spec has_sync_handler(server()) -> boolean().
has_sync_handler(Server) ->
    case supertester_lib:resolve(Server) of
        undefined ->
            false;
        Pid ->
            case callback_module(Pid) of
                undefined -> false;
                Module ->
                    _ = code:ensure_loaded(Module),
                    erlang:function_exported(Module, '__supertester_testable__', 0)
            end
    end.

%% proc_lib keeps a gen_server's {Module, init, 1} in its dictionary.
callback_module(Pid) when node(Pid) =:= node() ->
    case proc_lib:translate_initial_call(Pid) of
        {Module, init, 1} -> Module;
        _ -> undefined
    end;
callback_module(_RemotePid) ->
    undefined.

%% @equiv concurrent_calls(Server, Calls, 10, [])
concurrent_calls(Server, Calls) -> concurrent_calls(Server, Calls, 10, []).

%% @equiv concurrent_calls(Server, Calls, Count, [])
concurrent_calls(Server, Calls, Count) -> concurrent_calls(Server, Calls, Count, []).

%% @doc Makes `Count' concurrent calls of each message in `Calls' (all at
%% once, from separate processes) and groups the outcomes per message, in
%% the order of `Calls': `{ok, [#{call, successes, errors}]}'. Option
%% `timeout' (ms, default 5000) for each call.
-spec concurrent_calls(server(), [term()], pos_integer(), supertester_lib:options()) ->
          {ok, [#{call := term(), successes := [term()], errors := [term()]}]}.
concurrent_calls(Server, Calls, Count, Opts) ->
    _ = supertester_lib:check_process_ref(server, Server),
    is_list(Calls) orelse supertester_lib:bad_arg(calls, Calls, "a list of messages"),
    _ = supertester_lib:check_pos_integer(count, Count),
    O = supertester_lib:options(concurrent_calls, Opts, [timeout]),
    Timeout = supertester_lib:check_timeout(timeout, maps:get(timeout, O, 5000)),
    Caller = self(),
    Jobs = [{Index, Call} || {Index, Call} <- lists:zip(lists:seq(1, length(Calls)), Calls),
                             _ <- lists:seq(1, Count)],
    Workers = [begin
                   Ref = make_ref(),
                   {Pid, Mon} = spawn_monitor(fun() ->
                                                      Caller ! {Ref, call_with_timeout(Server, Call, Timeout)}
                                              end),
                   {Ref, Pid, Mon, Index}
               end || {Index, Call} <- Jobs],
    Outcomes = [{Index, await_worker(Ref, Pid, Mon)} || {Ref, Pid, Mon, Index} <- Workers],
    {ok, [#{call => Call,
            successes => [R || {I, {ok, R}} <- Outcomes, I =:= Index],
            errors => [E || {I, {error, E}} <- Outcomes, I =:= Index]}
          || {Index, Call} <- lists:zip(lists:seq(1, length(Calls)), Calls)]}.

%% The worker's own call is bounded by its timeout; its death is seen by
%% the monitor.
await_worker(Ref, Pid, Mon) ->
    receive
        {Ref, Result} -> erlang:demonitor(Mon, [flush]), Result;
        {'DOWN', Mon, process, Pid, Reason} -> {error, Reason}
    end.

%% @equiv stress_test_server(Server, Operations, 5000, [])
stress_test_server(Server, Operations) -> stress_test_server(Server, Operations, 5000, []).

%% @equiv stress_test_server(Server, Operations, Duration, [])
stress_test_server(Server, Operations, Duration) ->
    stress_test_server(Server, Operations, Duration, []).

%% @doc Runs `workers' (default 5) processes that pick operations at random
%% from `Operations' (`{call, Msg}' or `{cast, Msg}') for `Duration' ms and
%% count them: `{ok, #{calls, casts, errors, duration_ms}}'. A call that
%% fails or exceeds `call_timeout' (default 1000 ms) counts as an error.
%% The choice of operations is seeded (`seed' option, default random) so a
%% run can be replayed; the seed is in the result.
-spec stress_test_server(server(), [{call | cast, term()}], non_neg_integer(),
                         supertester_lib:options()) ->
          {ok, #{calls := non_neg_integer(), casts := non_neg_integer(),
                 errors := non_neg_integer(), duration_ms := non_neg_integer(),
                 seed := integer()}}.
stress_test_server(Server, Operations, Duration, Opts) ->
    _ = supertester_lib:check_process_ref(server, Server),
    Ops = check_operations(Operations),
    _ = supertester_lib:check_non_neg_integer(duration, Duration),
    O = supertester_lib:options(stress_test_server, Opts, [workers, seed, call_timeout]),
    Workers = supertester_lib:check_pos_integer(workers, maps:get(workers, O, 5)),
    Seed = maps:get(seed, O, erlang:unique_integer([positive])),
    is_integer(Seed) orelse supertester_lib:bad_arg(seed, Seed, "an integer"),
    CallTimeout = supertester_lib:check_timeout(call_timeout, maps:get(call_timeout, O, 1000)),
    Start = erlang:monotonic_time(millisecond),
    Deadline = Start + Duration,
    Caller = self(),
    Pids = [spawn_monitor(fun() ->
                                  _ = rand:seed(exsss, {Seed, N, 0}),
                                  Caller ! {stress, self(), stress_loop(Server, Ops, Deadline, CallTimeout,
                                                                        {0, 0, 0})}
                          end) || N <- lists:seq(1, Workers)],
    Totals = lists:foldl(fun({Pid, Mon}, {Ca, Cs, E}) ->
                                 {Ca2, Cs2, E2} = receive
                                                      {stress, Pid, Counts} ->
                                                          erlang:demonitor(Mon, [flush]), Counts;
                                                      {'DOWN', Mon, process, Pid, _} -> {0, 0, 1}
                                                  end,
                                 {Ca + Ca2, Cs + Cs2, E + E2}
                         end, {0, 0, 0}, Pids),
    {Calls, Casts, Errors} = Totals,
    {ok, #{calls => Calls, casts => Casts, errors => Errors, seed => Seed,
           duration_ms => erlang:monotonic_time(millisecond) - Start}}.

check_operations(Operations) when is_list(Operations), Operations =/= [] ->
    lists:foreach(fun({call, _}) -> ok;
                     ({cast, _}) -> ok;
                     (Other) -> supertester_lib:bad_arg(operations, Other, "{call, Message} or {cast, Message}")
                  end, Operations),
    list_to_tuple(Operations);
check_operations(Other) ->
    supertester_lib:bad_arg(operations, Other, "a non-empty list of {call, Message} and {cast, Message}").

stress_loop(Server, Ops, Deadline, CallTimeout, {Calls, Casts, Errors} = Counts) ->
    case erlang:monotonic_time(millisecond) < Deadline of
        false ->
            Counts;
        true ->
            Next = case element(rand:uniform(tuple_size(Ops)), Ops) of
                       {cast, Msg} ->
                           gen_server:cast(Server, Msg),
                           {Calls, Casts + 1, Errors};
                       {call, Msg} ->
                           case call_with_timeout(Server, Msg, CallTimeout) of
                               {ok, _} -> {Calls + 1, Casts, Errors};
                               {error, _} -> {Calls, Casts, Errors + 1}
                           end
                   end,
            stress_loop(Server, Ops, Deadline, CallTimeout, Next)
    end.

%% @doc Kills the server with `Reason' and reports whether its supervisor
%% brought it back: `{ok, #{recovered, original_pid, new_pid, crash_reason}}'
%% (with `recovery_error' when it did not recover). A server given by name
%% is found again by name; one given by pid, by its registered name or,
%% failing that, by its child id in its supervisor. Waits at most 5 s.
-spec test_server_crash_recovery(server(), term()) -> {ok, map()} | {error, term()}.
test_server_crash_recovery(Server, Reason) ->
    _ = supertester_lib:check_process_ref(server, Server),
    case supertester_lib:resolve(Server) of
        undefined ->
            {error, server_not_found};
        Original ->
            Supervised = supervised(Original),
            Finder = recovery_finder(Server, Original),
            Mon = erlang:monitor(process, Original),
            exit(Original, Reason),
            case supertester_proc:await_down(Mon, Original, 5000) of
                {error, timeout} ->
                    {error, crash_failed};
                {ok, _ExitReason} ->
                    Base = #{original_pid => Original, crash_reason => Reason},
                    Recovery = case Supervised of
                                   true -> supertester_lib:wait_until(Finder, 5000);
                                   false -> {error, not_supervised}
                               end,
                    case Recovery of
                        {ok, NewPid} ->
                            {ok, Base#{recovered => true, new_pid => NewPid}};
                        {error, timeout} ->
                            {ok, Base#{recovered => false, new_pid => nil,
                                       recovery_error => recovery_timeout}};
                        {error, not_supervised} ->
                            {ok, Base#{recovered => false, new_pid => nil,
                                       recovery_error => not_supervised}}
                    end
            end
    end.

%% Nothing will restart a process whose parent is not a live supervisor.
supervised(Pid) ->
    case process_info(Pid, parent) of
        {parent, Parent} when is_pid(Parent) ->
            is_process_alive(Parent) andalso supertester_sup:is_supervisor(Parent);
        _ ->
            false
    end.

%% How to find the restarted server: by name when there is one, else by its
%% child id in the supervisor that started it.
recovery_finder(Server, Original) ->
    Name = case Server of
               Pid when is_pid(Pid) ->
                   case process_info(Pid, registered_name) of
                       {registered_name, N} when is_atom(N) -> N;
                       _ -> undefined
                   end;
               Named -> Named
           end,
    case Name of
        undefined -> child_finder(Original);
        _ -> fun() -> responsive_replacement(supertester_lib:resolve(Name), Original) end
    end.

child_finder(Original) ->
    case process_info(Original, parent) of
        {parent, Sup} when is_pid(Sup) ->
            Id = [Id || {Id, P, _, _} <- catch supervisor:which_children(Sup), P =:= Original],
            fun() ->
                    Children = catch supervisor:which_children(Sup),
                    case [P || {I, P, _, _} <- (case is_list(Children) of true -> Children; false -> [] end),
                               [I] =:= Id, is_pid(P)] of
                        [New] -> responsive_replacement(New, Original);
                        _ -> false
                    end
            end;
        _ ->
            fun() -> false end
    end.

responsive_replacement(New, Original) when is_pid(New), New =/= Original ->
    case sync(New, 1000) of
        ok -> {true, New};
        {error, _} -> false
    end;
responsive_replacement(_, _) ->
    false.

%% @doc Calls the server with each message and reports how it answered:
%% `{ok, [{Message, {handled, Reply} | {error, Reason}}]}'.
-spec test_invalid_messages(server(), [term()]) -> {ok, [{term(), term()}]}.
test_invalid_messages(Server, Messages) when is_list(Messages) ->
    _ = supertester_lib:check_process_ref(server, Server),
    {ok, [{M, case call_with_timeout(Server, M, 1000) of
                  {ok, Reply} -> {handled, Reply};
                  {error, _} = E -> E
              end} || M <- Messages]};
test_invalid_messages(_Server, Other) ->
    supertester_lib:bad_arg(invalid_messages, Other, "a list of messages").
