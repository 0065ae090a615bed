%% @doc The agent the Supertester C-node loads onto a live node.
%%
%% A C-node built on ei cannot link, monitor or trace, so it loads this
%% module onto the target node (over `rex', see
%% c_src/cnode/AGENT_PROTOCOL.md, the contract this module implements) and
%% starts one session process that does those things for it. Requests are
%% messages, and so are the answers:
%%
%% ```
%% 1> {ok, A} = supertester_agent:start(self(), #{}).
%% 2> A ! {st, R = make_ref(), {children, my_sup, 1000}}.
%% 3> receive {st_reply, R, Reply} -> Reply end.
%% {ok,[{worker_a,<0.91.0>,worker,permanent}]}
%% 4> A ! {st, make_ref(), stop}.
%% '''
%%
%% The agent runs on nodes that do not have Supertester: it is one module
%% that uses only erts, kernel and stdlib.
%%
%% Safety, as the C-node cannot watch over it:
%% <ul>
%% <li>The session is linked to nothing; it watches its owner (the node of
%%     a remote owner) and cleans up when the owner goes, as on `stop':
%%     workers killed, trace flags removed where the tracer is still one of
%%     its workers, a cookie changed by a partition restored, and the
%%     module deleted (and purged) when no other session runs.</li>
%% <li>Every request gets exactly one reply; input it does not understand
%%     gets `{error, {bad_request, Request}}', and no input crashes it.</li>
%% <li>Whatever can take time runs in a worker linked to the session, so
%%     the session answers the next request at once. Every wait is bounded
%%     by the request's timeout (5 s for requests that carry none).</li>
%% <li>A trace never steals a tracee (`{already_traced, Pid}'), forwards at
%%     most `max_trace_events' events, and stops when its worker's mailbox
%%     holds more than `max_backlog' messages.</li>
%% <li>The session and its workers refuse to kill or trace themselves.</li>
%% </ul>
-module(supertester_agent).

-export([start/2]).
%% The session's spawn entry: its initial call is how sessions count each
%% other before unloading the module.
-export([session_init/2]).

-define(WAIT_MS, 5000).
-define(MAX_LEVELS, 16).
-define(TEXT_DEPTH, 20).
-define(ENDING, '$supertester_agent_ending').
%% Given to the peer on this side only, so that neither side can reconnect.
-define(WRONG_COOKIE, 'supertester-agent-partition').

-define(IS_TARGET(T), (is_pid(T) orelse is_atom(T))).
-define(IS_MS(T), (is_integer(T) andalso T >= 0)).

-type config() :: #{max_trace_events := pos_integer(), max_backlog := pos_integer()}.
-type job() :: #{ref := term(), traced := [{pid(), [atom()]}],
                 cookie := none | {node(), atom()}}.
-type ending() :: {stop, term()} | owner_lost | {exit, term()}.

-record(session, {owner :: pid(),
                  watch :: reference() | {node, node()},
                  config :: config(),
                  jobs = #{} :: #{pid() => job()}}).

-record(tr, {pid :: pid(),
             kind :: messages | supervision,
             flags :: [atom()],
             emit :: fun((tuple()) -> ok),
             max :: pos_integer(),
             parent :: pid() | undefined,
             mon :: reference() | undefined,
             t0 = 0 :: integer(),
             deadline = 0 :: integer(),
             backlog :: pos_integer(),
             count = 0 :: non_neg_integer()}).

%% ------------------------------------------------------------ session

%% @doc Starts a session for `Owner' (the C-node's pid), not linked to the
%% caller. `Options': `max_trace_events' (default 10000, the most events a
%% trace forwards) and `max_backlog' (default 5000, a trace stops when its
%% worker's mailbox holds more); any other key is refused.
-spec start(Owner :: term(), Options :: term()) -> {ok, pid()} | {error, term()}.
start(Owner, Options) when is_pid(Owner) ->
    case config(Options) of
        {ok, Config} -> {ok, spawn(?MODULE, session_init, [Owner, Config])};
        Error -> Error
    end;
start(Owner, _Options) ->
    {error, {bad_owner, Owner}}.

config(Options) when is_map(Options) ->
    Defaults = #{max_trace_events => 10000, max_backlog => 5000},
    maps:fold(fun option/3, {ok, Defaults}, Options);
config(Options) ->
    {error, {bad_options, Options}}.

option(Key, Value, {ok, Config}) when (Key =:= max_trace_events orelse Key =:= max_backlog),
                                      is_integer(Value), Value > 0 ->
    {ok, Config#{Key := Value}};
option(Key, Value, {ok, _}) ->
    {error, {bad_option, Key, Value}};
option(_Key, _Value, Error) ->
    Error.

%% @private
-spec session_init(pid(), config()) -> ok.
session_init(Owner, Config) ->
    process_flag(trap_exit, true),
    loop(#session{owner = Owner, watch = watch(Owner), config = Config}).

%% A remote owner is a C-node, which ei cannot let us monitor as a process:
%% its node going down is what ends the session.
watch(Owner) when node(Owner) =:= node() ->
    erlang:monitor(process, Owner);
watch(Owner) ->
    true = erlang:monitor_node(node(Owner), true),
    {node, node(Owner)}.

unwatch(Mon) when is_reference(Mon) -> erlang:demonitor(Mon, [flush]);
unwatch({node, Node}) -> erlang:monitor_node(Node, false).

loop(S) ->
    receive
        Msg ->
            case handle_safely(Msg, S) of
                {continue, S1} -> loop(S1);
                {stop, Ending, S1} -> finish(Ending, S1)
            end
    end.

%% A failure while handling one message is answered (when it was a
%% request) and forgotten: the session itself never crashes.
handle_safely(Msg, S) ->
    try handle(Msg, S)
    catch
        Class:Reason:Stack ->
            answer_failure(Msg, S, {Class, Reason, Stack}),
            {continue, S}
    end.

answer_failure({st, Ref, _}, S, Failure) -> reply(S, Ref, {error, {internal, text(Failure)}});
answer_failure(_Msg, _S, _Failure) -> ok.

handle({st, Ref, Request}, S) ->
    request(Request, Ref, S);
handle({'EXIT', Pid, Reason}, S) ->
    exit_signal(Pid, Reason, S);
handle({'DOWN', Mon, process, _, _}, #session{watch = Mon} = S) ->
    {stop, owner_lost, S};
handle({nodedown, Node}, #session{watch = {node, Node}} = S) ->
    {stop, owner_lost, S};
handle(_Other, S) ->
    {continue, S}.

%% Workers are the only linked processes: any other exit signal was sent
%% to end the session, which it does after cleaning up.
exit_signal(Pid, Reason, #session{jobs = Jobs} = S) ->
    case maps:take(Pid, Jobs) of
        {Job, Rest} -> job_ended(Pid, Reason, Job, S#session{jobs = Rest});
        error when Reason =:= normal -> {continue, S};
        error -> {stop, {exit, Reason}, S}
    end.

%% A worker sends its own reply (after its events) and ends normally; any
%% other end means it was killed before it could reply.
job_ended(Worker, Reason, #{ref := Ref} = Job, S) ->
    undo(Worker, Job),
    case Reason of
        normal -> ok;
        _ -> reply(S, Ref, {error, {worker_exit, text(Reason)}})
    end,
    {continue, S}.

reply(#session{owner = Owner}, Ref, Reply) ->
    Owner ! {st_reply, Ref, Reply},
    ok.

reply_now(S, Ref, Reply) ->
    reply(S, Ref, Reply),
    {continue, S}.

%% ------------------------------------------------------------ requests

-spec request(term(), term(), #session{}) -> {continue, #session{}} | {stop, ending(), #session{}}.
request(ping, Ref, S) ->
    reply_now(S, Ref, pong);
request({whereis, Name}, Ref, S) when is_atom(Name) ->
    reply_now(S, Ref, whereis_reply(whereis(Name)));
request({process_info, Target}, Ref, S) when ?IS_TARGET(Target) ->
    with_target(Target, Ref, S, fun(Pid) -> reply_now(S, Ref, info(Pid)) end);
request({parse_term, Text}, Ref, S) when is_binary(Text) ->
    reply_now(S, Ref, parse_term(Text));
request({top_supervisor, App}, Ref, S) when is_atom(App) ->
    start_job(Ref, fun() -> top_supervisor(App) end, [], S);
request({tree, Sup, Ms}, Ref, S) when ?IS_TARGET(Sup), ?IS_MS(Ms) ->
    with_target(Sup, Ref, S, fun(Pid) -> start_job(Ref, fun() -> tree(Pid, Ms) end, [], S) end);
request({children, Sup, Ms}, Ref, S) when ?IS_TARGET(Sup), ?IS_MS(Ms) ->
    with_target(Sup, Ref, S, fun(Pid) -> start_job(Ref, fun() -> children(Pid, Ms) end, [], S) end);
request({kill_child, Sup, Id, Ms}, Ref, S) when ?IS_TARGET(Sup), ?IS_MS(Ms) ->
    with_victim(Sup, Ref, S, fun(Pid) -> start_kill_child(Pid, Id, Ms, Ref, S) end);
request({wait_restart, Sup, Id, Ms}, Ref, S) when ?IS_TARGET(Sup), ?IS_MS(Ms) ->
    with_victim(Sup, Ref, S, fun(Pid) -> start_wait_restart(Pid, Id, Ms, Ref, S) end);
request({kill, Target, Reason}, Ref, S) when ?IS_TARGET(Target) ->
    with_victim(Target, Ref, S,
                fun(Pid) -> start_job(Ref, fun() -> kill(Pid, Reason) end, [], S) end);
request({trace, Target, Kind, Max, Ms}, Ref, S)
  when ?IS_TARGET(Target), (Kind =:= messages orelse Kind =:= supervision),
       is_integer(Max), Max > 0, ?IS_MS(Ms) ->
    with_victim(Target, Ref, S, fun(Pid) -> start_trace(Pid, Kind, Max, Ms, Ref, S) end);
request({partition, Peer, Ms}, Ref, S) when is_atom(Peer), ?IS_MS(Ms) ->
    case refuse_partition(Peer, S) of
        ok -> start_partition(Peer, Ms, Ref, S);
        Error -> reply_now(S, Ref, Error)
    end;
request(stop, Ref, S) ->
    {stop, {stop, Ref}, S};
request(Request, Ref, S) ->
    reply_now(S, Ref, {error, {bad_request, Request}}).

whereis_reply(Pid) when is_pid(Pid) -> {ok, Pid};
whereis_reply(_) -> {error, not_found}.

%% A target is a pid or a registered name, resolved by the session at once.
with_target(Target, Ref, S, Then) ->
    case resolve(Target) of
        {ok, Pid} -> Then(Pid);
        Error -> reply_now(S, Ref, Error)
    end.

%% Killing or tracing the session or one of its workers would take the
%% agent down from inside: refused.
with_victim(Target, Ref, S, Then) ->
    with_target(Target, Ref, S,
                fun(Pid) ->
                        case Pid =:= self() orelse maps:is_key(Pid, S#session.jobs) of
                            true -> reply_now(S, Ref, {error, {refused, Pid}});
                            false -> Then(Pid)
                        end
                end).

resolve(Name) when is_atom(Name) ->
    case whereis(Name) of
        Pid when is_pid(Pid) -> resolve(Pid);
        _ -> {error, not_alive}
    end;
resolve(Pid) when node(Pid) =/= node() ->
    {error, {not_local, Pid}};
resolve(Pid) ->
    case is_process_alive(Pid) of
        true -> {ok, Pid};
        false -> {error, not_alive}
    end.

info(Pid) ->
    case erlang:process_info(Pid, [memory, reductions, message_queue_len]) of
        [{memory, Memory}, {reductions, Reductions}, {message_queue_len, Len}] ->
            {ok, {Memory, Reductions, Len}};
        undefined ->
            {error, not_alive}
    end.

%% ------------------------------------------------------------ workers

%% The session records what a worker may leave behind (the trace flags it
%% sets, the cookie it changes) before the worker starts, so that it can
%% undo them whatever happens to the worker.
start_job(Ref, Fun, Traced, S) ->
    start_job(Ref, Fun, Traced, none, S).

start_job(Ref, Fun, Traced, Cookie, #session{owner = Owner, jobs = Jobs} = S) ->
    Worker = spawn_link(fun() -> Owner ! {st_reply, Ref, run(Fun)} end),
    Job = #{ref => Ref, traced => Traced, cookie => Cookie},
    {continue, S#session{jobs = Jobs#{Worker => Job}}}.

%% Workers report failures by throwing `{error, Reason}'.
run(Fun) ->
    try Fun()
    catch
        throw:{error, _} = Error -> Error;
        Class:Reason:Stack -> {error, {internal, text({Class, Reason, Stack})}}
    end.

undo(Worker, #{traced := Traced, cookie := Cookie}) ->
    lists:foreach(fun({Pid, Flags}) -> release(Pid, Flags, Worker) end, Traced),
    restore_cookie(Cookie).

restore_cookie(none) -> ok;
restore_cookie({Peer, Cookie}) -> _ = catch erlang:set_cookie(Peer, Cookie), ok.

%% ------------------------------------------------------------ cleanup

-spec finish(ending(), #session{}) -> ok.
finish({stop, Ref}, S) ->
    cleanup(S, true),
    _ = unload(),
    reply(S, Ref, ok);
finish(owner_lost, S) ->
    abandon(S, false);
finish({exit, Reason}, S) ->
    abandon(S, true),
    exit(Reason).

%% Nothing follows an end without `stop', so the session purges the
%% module itself, from a process of its own: purging kills processes still
%% running the old code, as this one is.
abandon(S, Answer) ->
    cleanup(S, Answer),
    case unload() of
        true -> _ = spawn(code, purge, [?MODULE]), ok;
        false -> ok
    end.

%% Requests still running are answered, unless the owner is gone.
cleanup(#session{jobs = Jobs, watch = Watch} = S, Answer) ->
    maps:foreach(fun(Worker, Job) -> end_job(Worker, Job, Answer, S) end, Jobs),
    _ = unwatch(Watch),
    ok.

%% The worker is gone before its flags are removed, so it cannot set them
%% again behind the session's back. One that ended normally has replied.
end_job(Worker, #{ref := Ref} = Job, Answer, S) ->
    exit(Worker, kill),
    Reason = receive {'EXIT', Worker, Why} -> Why after ?WAIT_MS -> killed end,
    undo(Worker, Job),
    case Answer andalso Reason =/= normal of
        true -> reply(S, Ref, {error, stopped});
        false -> ok
    end.

%% The last session takes the module with it. A session marks itself as
%% ending before it looks at the others, so of two sessions ending at once
%% at least one sees the other marked and deletes the module.
unload() ->
    put(?ENDING, true),
    case [P || P <- processes(), P =/= self(), is_live_session(P)] of
        [] -> code:delete(?MODULE);
        _ -> false
    end.

is_live_session(Pid) ->
    erlang:process_info(Pid, initial_call) =:= {initial_call, {?MODULE, session_init, 2}}
        andalso not is_ending(Pid).

is_ending(Pid) ->
    case erlang:process_info(Pid, dictionary) of
        {dictionary, Dict} -> lists:keymember(?ENDING, 1, Dict);
        undefined -> true
    end.

%% ------------------------------------------------------------ top_supervisor

%% application_master:get_child/1 waits without a bound, so it runs in a
%% helper the worker stops waiting for after 5 s.
top_supervisor(App) ->
    case application_controller:get_master(App) of
        undefined -> {error, {no_application, App}};
        Master -> top_child(App, bounded(fun() -> application_master:get_child(Master) end))
    end.

top_child(_App, {Pid, _Module}) when is_pid(Pid) -> {ok, Pid};
top_child(App, _Stopping) -> {error, {no_application, App}}.

bounded(Fun) ->
    Worker = self(),
    Tag = make_ref(),
    Helper = spawn_link(fun() -> Worker ! {Tag, catch Fun()} end),
    receive
        {Tag, Result} -> Result
    after ?WAIT_MS ->
            unlink(Helper),
            exit(Helper, kill),
            throw({error, timeout})
    end.

%% ------------------------------------------------------------ supervisors

tree(Sup, Ms) ->
    {ok, tree(Sup, deadline(Ms), 1)}.

tree(Sup, Deadline, Level) ->
    #{strategy := Strategy, intensity := Intensity, period := Period,
      children := Children} = supervisor_info(Sup, Deadline),
    {supervisor, registered_name(Sup), Sup, Strategy, Intensity, Period,
     [subtree(Child, Deadline, Level) || Child <- Children]}.

subtree({Id, Pid, supervisor, Restart}, Deadline, Level) when is_pid(Pid), Level < ?MAX_LEVELS ->
    {Id, Pid, supervisor, Restart, sub(Pid, Deadline, Level + 1)};
subtree({Id, Pid, Type, Restart}, _Deadline, _Level) ->
    {Id, Pid, Type, Restart, none}.

%% A child supervisor that went away, or that answers like no supervisor
%% known here, is shown without its subtree; running out of time fails the
%% whole tree.
sub(Pid, Deadline, Level) ->
    try tree(Pid, Deadline, Level)
    catch
        throw:{error, timeout} = Timeout -> throw(Timeout);
        throw:{error, _} -> none
    end.

registered_name(Pid) ->
    case erlang:process_info(Pid, registered_name) of
        {registered_name, Name} -> Name;
        _ -> undefined
    end.

children(Sup, Ms) ->
    #{children := Children} = supervisor_info(Sup, deadline(Ms)),
    {ok, Children}.

%% Flags and children, in start order, with their restart types.
%% `dynamic' is true for supervisors whose children have no ids of their
%% own (simple_one_for_one, Elixir's DynamicSupervisor).
supervisor_info(Sup, Deadline) ->
    State = bounded_call(fun(Ms) -> sys:get_state(Sup, Ms) end, Deadline),
    case flags(State) of
        {otp, Strategy, Intensity, Period} ->
            Info = #{strategy => Strategy, intensity => Intensity, period => Period,
                     dynamic => Strategy =:= simple_one_for_one},
            Info#{children => otp_children(Sup, Strategy, State, Deadline)};
        {elixir, Strategy, Intensity, Period} ->
            #{strategy => Strategy, intensity => Intensity, period => Period,
              dynamic => true, children => elixir_children(maps:get(children, State))};
        unknown ->
            throw({error, {unknown_state, Sup}})
    end.

%% OTP's supervisor keeps strategy, intensity and period as the 3rd, 6th
%% and 7th elements of its #state{} (since OTP 18); Elixir's
%% DynamicSupervisor is a struct.
flags(State) when is_tuple(State), tuple_size(State) >= 7, element(1, State) =:= state,
                  is_atom(element(3, State)), is_integer(element(6, State)),
                  is_integer(element(7, State)) ->
    {otp, element(3, State), element(6, State), element(7, State)};
flags(#{'__struct__' := 'Elixir.DynamicSupervisor', strategy := Strategy,
        max_restarts := Intensity, max_seconds := Period, children := Children})
  when is_map(Children) ->
    {elixir, Strategy, Intensity, Period};
flags(_State) ->
    unknown.

%% which_children lists the newest child first.
otp_children(Sup, simple_one_for_one, State, Deadline) ->
    Children = lists:sort([{Pid, Type} || {_, Pid, Type, _} <- which_children(Sup, Deadline)]),
    Restart = dynamic_restart(Sup, Children, State, Deadline),
    [{undefined, Pid, Type, Restart} || {Pid, Type} <- Children];
otp_children(Sup, _Strategy, _State, Deadline) ->
    Children = lists:reverse(which_children(Sup, Deadline)),
    lists:append([with_restart(Sup, Child, Deadline) || Child <- Children]).

which_children(Sup, Deadline) ->
    bounded_call(fun(Ms) -> gen_server:call(Sup, which_children, Ms) end, Deadline).

%% A child whose spec is gone by now (a temporary child that ended) is left
%% out.
with_restart(Sup, {Id, Pid, Type, _Modules}, Deadline) ->
    case childspec(Sup, Id, Deadline) of
        {ok, #{restart := Restart}} -> [{Id, Pid, Type, Restart}];
        _ -> []
    end.

childspec(Sup, IdOrPid, Deadline) ->
    bounded_call(fun(Ms) -> gen_server:call(Sup, {get_childspec, IdOrPid}, Ms) end, Deadline).

%% All children of a simple_one_for_one supervisor share one spec: asked
%% with the pid of a running child, else read from the template the
%% #state{} keeps as its 4th element ({[Id], #{Id => #child{}}}, the
%% restart type 5th in #child{}).
dynamic_restart(_Sup, [], _State, _Deadline) ->
    none;
dynamic_restart(Sup, Children, State, Deadline) ->
    case [Pid || {Pid, _} <- Children, is_pid(Pid)] of
        [Pid | _] -> spec_restart(Sup, childspec(Sup, Pid, Deadline), State);
        [] -> template_restart(Sup, State)
    end.

spec_restart(_Sup, {ok, #{restart := Restart}}, _State) -> Restart;
spec_restart(Sup, _NotFound, State) -> template_restart(Sup, State).

template_restart(Sup, State) ->
    case element(4, State) of
        {[Id], #{} = Db} when is_tuple(map_get(Id, Db)) -> element(5, map_get(Id, Db));
        _ -> throw({error, {unknown_state, Sup}})
    end.

%% Elixir keeps `Pid => {MFA, Restart, Shutdown, Type, Modules}', wrapped
%% in `{restarting, _}' while a restart is pending.
elixir_children(Children) ->
    [elixir_child(Pid, Spec) || {Pid, Spec} <- lists:sort(maps:to_list(Children))].

elixir_child(_Pid, {restarting, {_, Restart, _, Type, _}}) ->
    {undefined, restarting, Type, Restart};
elixir_child(Pid, {_, Restart, _, Type, _}) ->
    {undefined, Pid, Type, Restart}.

%% A call that waits no longer than the request allows. A process that
%% exits rather than answer is gone as far as the request is concerned.
bounded_call(Call, Deadline) ->
    case remaining(Deadline) of
        0 -> throw({error, timeout});
        Ms ->
            try Call(Ms)
            catch
                exit:{timeout, _} -> throw({error, timeout});
                exit:_ -> throw({error, not_alive})
            end
    end.

deadline(Ms) -> erlang:monotonic_time(millisecond) + Ms.

remaining(Deadline) -> max(0, Deadline - erlang:monotonic_time(millisecond)).

%% ------------------------------------------------------------ kill_child

start_kill_child(Sup, Id, Ms, Ref, S) ->
    start_job(Ref, fun() -> kill_child(Sup, Id, deadline(Ms)) end, [{Sup, ['receive']}], S).

%% The supervisor's 'receive' trace shows the moment the child's EXIT is
%% in its queue; a which_children call sent after that is answered only
%% once the supervisor has handled the EXIT (restarts included). A restart
%% that failed (a sibling still holding a registered name, say) leaves the
%% child `restarting' and the supervisor casts itself a retry: the trace
%% stays on until the retries are over, so the report shows the outcome.
kill_child(Sup, Id, Deadline) ->
    Info = supervisor_info(Sup, Deadline),
    {Victim, Restart} = victim(Id, Info),
    claim(Sup, ['receive']),
    Start = erlang:monotonic_time(microsecond),
    Mon = erlang:monitor(process, Sup),
    After = try
                exit(Victim, kill),
                _ = await_exit(Sup, Mon, Victim, Deadline),
                settled(Sup, Mon, Info, Deadline)
            after
                release(Sup, ['receive'], self()),
                erlang:demonitor(Mon, [flush])
            end,
    Elapsed = erlang:monotonic_time(microsecond) - Start,
    {ok, report(Id, Victim, Restart, Info, After, Elapsed)}.

%% The children once no restart is pending.
settled(Sup, Mon, Info, Deadline) ->
    After = after_kill(Sup, Info, Deadline),
    case lists:keymember(restarting, 2, After) of
        false -> After;
        true -> await_retry(Sup, Mon, Deadline), settled(Sup, Mon, Info, Deadline)
    end.

await_retry(Sup, Mon, Deadline) ->
    receive
        {trace, Sup, 'receive', {'$gen_cast', {try_again_restart, _}}} -> ok;
        {'DOWN', Mon, process, Sup, _} -> throw({error, supervisor_died})
    after remaining(Deadline) ->
            throw({error, timeout})
    end.

%% ------------------------------------------------------------ wait_restart

start_wait_restart(Sup, Id, Ms, Ref, #session{owner = Owner} = S) ->
    Armed = fun() -> Owner ! {st_event, Ref, armed}, ok end,
    start_job(Ref, fun() -> wait_restart(Sup, Id, deadline(Ms), Armed) end,
              [{Sup, ['receive']}], S).

%% The next restart of child Id, however it dies, once the wait is armed:
%% the supervisor traced and the child's pid read, which the `armed' event
%% tells the owner. A death before that may be missed (the wait then runs
%% to its deadline): whoever causes the restart waits for `armed'.
wait_restart(Sup, Id, Deadline, Armed) ->
    claim(Sup, ['receive']),
    Mon = erlang:monitor(process, Sup),
    try
        Info = supervisor_info(Sup, Deadline),
        {Old, _Restart} = victim(Id, Info),
        ok = Armed(),
        Start = await_exit(Sup, Mon, Old, Deadline),
        After = settled(Sup, Mon, Info, Deadline),
        New = new_pid(Id, Info, After),
        {ok, {restarted, Id, Old, New, erlang:monotonic_time(microsecond) - Start}}
    after
        release(Sup, ['receive'], self()),
        erlang:demonitor(Mon, [flush])
    end.

%% A dynamic supervisor's children have no ids: the restarted one is the
%% pid that was not there before.
new_pid(Id, #{dynamic := true, children := Children}, After) ->
    case [P || {_, P} <- After, is_pid(P), not lists:keymember(P, 2, Children)] of
        [New | _] -> New;
        [] -> throw({error, {not_restarted, Id}})
    end;
new_pid(Id, _Info, After) ->
    case lists:keyfind(Id, 1, After) of
        {Id, Pid} when is_pid(Pid) -> Pid;
        _ -> throw({error, {not_restarted, Id}})
    end.

%% When the supervisor received the child's exit (microseconds).
await_exit(Sup, Mon, Child, Deadline) ->
    receive
        {trace, Sup, 'receive', {'EXIT', Child, _}} -> erlang:monotonic_time(microsecond);
        {'DOWN', Mon, process, Sup, _} -> throw({error, supervisor_died})
    after remaining(Deadline) ->
            throw({error, timeout})
    end.

victim(Id, #{dynamic := true, children := Children}) when is_pid(Id) ->
    case lists:keyfind(Id, 2, Children) of
        {_, Id, _, Restart} -> {Id, Restart};
        false -> throw({error, {no_child, Id}})
    end;
victim(Id, #{dynamic := false, children := Children}) ->
    case lists:keyfind(Id, 1, Children) of
        {Id, Pid, _, Restart} when is_pid(Pid) -> {Pid, Restart};
        {Id, _, _, _} -> throw({error, {not_running, Id}});
        false -> throw({error, {no_child, Id}})
    end;
victim(Id, _Info) ->
    throw({error, {no_child, Id}}).

after_kill(Sup, #{dynamic := Dynamic}, Deadline) ->
    try which_children(Sup, Deadline) of
        Children when Dynamic -> lists:sort([{Id, Pid} || {Id, Pid, _, _} <- Children]);
        Children -> lists:reverse([{Id, Pid} || {Id, Pid, _, _} <- Children])
    catch
        throw:{error, not_alive} -> throw({error, supervisor_died})
    end.

report(Id, Victim, Restart, #{strategy := Strategy, children := Children} = Info, After, Elapsed) ->
    Before = [{ChildId, Pid} || {ChildId, Pid, _, _} <- Children],
    {kill_report, Id, Victim, Strategy, Before, After, restarted(Id, Info, Before, After),
     expected(Id, Restart, Info), Elapsed}.

%% Dynamic children have no ids of their own: the victim's pid stands for
%% its id, and it was restarted when a new child appeared.
restarted(Id, #{dynamic := true}, Before, After) ->
    [Id || lists:any(fun({_, Pid}) -> is_pid(Pid) andalso not lists:keymember(Pid, 2, Before) end,
                     After)];
restarted(_Id, _Info, Before, After) ->
    [Id || {Id, Pid} <- After, is_pid(Pid), not lists:member({Id, Pid}, Before)].

expected(Id, Restart, #{dynamic := true}) ->
    [Id || Restart =/= temporary];
expected(Id, _Restart, #{strategy := Strategy, children := Children}) ->
    [ChildId || {ChildId, _, _, Restart} <- promised(Strategy, Id, Children),
                Restart =/= temporary].

promised(one_for_all, _Id, Children) -> Children;
promised(rest_for_one, Id, Children) ->
    lists:dropwhile(fun(C) -> element(1, C) =/= Id end, Children);
promised(_OneForOne, Id, Children) -> [C || C <- Children, element(1, C) =:= Id].

%% ------------------------------------------------------------ kill

kill(Pid, Reason) ->
    Mon = erlang:monitor(process, Pid),
    exit(Pid, Reason),
    receive
        {'DOWN', Mon, process, Pid, _} -> {ok, Pid}
    after ?WAIT_MS ->
            erlang:demonitor(Mon, [flush]),
            {error, {still_alive, Pid}}
    end.

%% ------------------------------------------------------------ trace

trace_flags(messages) -> [send, 'receive', monotonic_timestamp];
trace_flags(supervision) -> ['receive', procs, monotonic_timestamp].

start_trace(Pid, Kind, Max, Ms, Ref, #session{owner = Owner, config = Config} = S) ->
    #{max_trace_events := Cap, max_backlog := Backlog} = Config,
    T = #tr{pid = Pid, kind = Kind, flags = trace_flags(Kind),
            emit = fun(Event) -> Owner ! {st_event, Ref, Event}, ok end,
            max = min(Max, Cap), backlog = Backlog},
    start_job(Ref, fun() -> trace(T, Ms) end, [{Pid, T#tr.flags}], S).

trace(#tr{pid = Pid, kind = Kind, flags = Flags} = T, Ms) ->
    Parent = traceable(Kind, Pid),
    Mon = erlang:monitor(process, Pid),
    T0 = erlang:monotonic_time(nanosecond),
    claim(Pid, Flags),
    trace_loop(T#tr{parent = Parent, mon = Mon, t0 = T0, deadline = deadline(Ms)}).

%% A supervision trace tells child exits from its parent's exit signal.
traceable(messages, _Pid) ->
    undefined;
traceable(supervision, Pid) ->
    case {proc_lib:translate_initial_call(Pid), erlang:process_info(Pid, parent)} of
        {{supervisor, _, 1}, {parent, Parent}} when is_pid(Parent) -> Parent;
        {{supervisor, _, 1}, _} -> undefined;
        _ -> throw({error, {not_a_supervisor, Pid}})
    end.

%% Tracing a process someone else traces would steal their events.
claim(Pid, Flags) ->
    case erlang:trace_info(Pid, tracer) of
        {tracer, []} -> set_trace(Pid, Flags);
        {tracer, _Other} -> throw({error, {already_traced, Pid}});
        undefined -> throw({error, not_alive})
    end.

set_trace(Pid, Flags) ->
    try erlang:trace(Pid, true, [{tracer, self()} | Flags]) of
        _ -> ok
    catch
        error:badarg -> throw({error, not_alive})
    end.

%% Flags are removed only while they still send to `Tracer'.
release(Pid, Flags, Tracer) ->
    case erlang:trace_info(Pid, tracer) of
        {tracer, Tracer} -> _ = catch erlang:trace(Pid, false, Flags), ok;
        _ -> ok
    end.

trace_loop(#tr{pid = Pid, mon = Mon} = T) ->
    receive
        Msg when element(1, Msg) =:= trace_ts, element(2, Msg) =:= Pid ->
            trace_msg(Msg, T);
        {'DOWN', Mon, process, Pid, _} ->
            trace_end(target_down, T)
    after remaining(T#tr.deadline) ->
            trace_end(duration, T)
    end.

trace_msg(Msg, #tr{emit = Emit, count = Count} = T) ->
    case classify(Msg, T) of
        skip ->
            next(T);
        Raw ->
            ok = Emit(event(Raw, T)),
            counted(T#tr{count = Count + 1})
    end.

counted(#tr{count = Max, max = Max} = T) -> trace_end(max_events, T);
counted(T) -> next(T).

next(#tr{backlog = Backlog} = T) ->
    case erlang:process_info(self(), message_queue_len) of
        {message_queue_len, Len} when Len > Backlog -> trace_end(backlog, T);
        _ -> trace_loop(T)
    end.

%% Trace messages still on their way when tracing stops were not
%% forwarded: they are counted as dropped, up to the trace_delivered mark.
trace_end(Why, #tr{pid = Pid, flags = Flags, mon = Mon, count = Count} = T) ->
    release(Pid, Flags, self()),
    erlang:demonitor(Mon, [flush]),
    Dropped = drain(erlang:trace_delivered(Pid), T, 0),
    {ok, {trace_done, Count, Dropped, Why}}.

drain(Mark, #tr{pid = Pid} = T, Dropped) ->
    receive
        {trace_delivered, Pid, Mark} ->
            Dropped;
        Msg when element(1, Msg) =:= trace_ts, element(2, Msg) =:= Pid ->
            drain(Mark, T, Dropped + dropped(classify(Msg, T)))
    after ?WAIT_MS ->
            Dropped
    end.

dropped(skip) -> 0;
dropped(_Raw) -> 1.

%% `{Ts, Tag, Peer, Term}' for a trace message that is an event of the
%% trace's kind, else skip. A 'receive' trace does not name the sender.
classify({trace_ts, _, send, Msg, To, Ts}, #tr{kind = messages}) ->
    {Ts, send, To, Msg};
classify({trace_ts, _, send_to_non_existing_process, Msg, To, Ts}, #tr{kind = messages}) ->
    {Ts, send, To, Msg};
classify({trace_ts, _, 'receive', Msg, Ts}, #tr{kind = messages}) ->
    {Ts, 'receive', undefined, Msg};
classify({trace_ts, _, 'receive', {'EXIT', Child, Reason}, Ts},
         #tr{kind = supervision, parent = Parent}) when Child =/= Parent ->
    {Ts, child_exit, Child, Reason};
classify({trace_ts, _, spawn, Child, MFA, Ts}, #tr{kind = supervision}) ->
    {Ts, child_started, Child, initial_call(MFA)};
classify(_Msg, _T) ->
    skip.

event({Ts, Tag, Peer, Term}, #tr{t0 = T0}) ->
    {(Ts - T0) div 1000, Tag, text(Peer), text(Term)}.

%% Children started through proc_lib and gen are named by their callback
%% module, as proc_lib:translate_initial_call/1 names them.
initial_call({proc_lib, init_p, [_Parent, _Ancestors, M, F, A]}) ->
    initial_call({M, F, A});
initial_call({gen, init_it, [_GenMod, _Starter, _Parent, _Name, Mod, Args, _Opts]}) ->
    callback(Mod, Args);
initial_call({gen, init_it, [_GenMod, _Starter, _Parent, Mod, Args, _Opts]}) ->
    callback(Mod, Args);
initial_call({M, F, A}) when is_list(A) ->
    {M, F, length(A)};
initial_call(Other) ->
    Other.

callback(supervisor, {_Name, Mod, _Args}) -> {supervisor, Mod, 1};
callback(Mod, _Args) -> {Mod, init, 1}.

%% ------------------------------------------------------------ partition

%% Cutting the owner's node off would end the session from inside.
refuse_partition(Peer, #session{owner = Owner, jobs = Jobs}) ->
    Alive = is_alive(),
    Partitioned = lists:member(Peer, [P || #{cookie := {P, _}} <- maps:values(Jobs)]),
    Connected = lists:member(Peer, nodes(connected)),
    if
        not Alive -> {error, not_distributed};
        Peer =:= node(); Peer =:= node(Owner) -> {error, {refused, Peer}};
        Partitioned -> {error, {already_partitioned, Peer}};
        not Connected -> {error, {not_connected, Peer}};
        true -> ok
    end.

start_partition(Peer, Ms, Ref, S) ->
    Cookie = erlang:get_cookie(Peer),
    start_job(Ref, fun() -> partition(Peer, Cookie, Ms) end, [], {Peer, Cookie}, S).

%% With a wrong cookie for the peer on this side, neither node can
%% reconnect until it is restored.
partition(Peer, Cookie, Ms) ->
    true = erlang:monitor_node(Peer, true),
    true = erlang:set_cookie(Peer, ?WRONG_COOKIE),
    _ = erlang:disconnect_node(Peer),
    Down = await_nodedown(Peer),
    %% Apart for the requested time: the wait is the fault itself.
    receive after Ms -> ok end,
    true = erlang:set_cookie(Peer, Cookie),
    Start = erlang:monotonic_time(microsecond),
    case net_kernel:connect_node(Peer) of
        true ->
            Up = erlang:monotonic_time(microsecond),
            {ok, {partition_done, Up - Down, Up - Start}};
        _ ->
            {error, {reconnect_failed, Peer}}
    end.

await_nodedown(Peer) ->
    receive
        {nodedown, Peer} -> erlang:monotonic_time(microsecond)
    after ?WAIT_MS ->
            throw({error, {disconnect_failed, Peer}})
    end.

%% ------------------------------------------------------------ text

parse_term(Bin) ->
    case unicode:characters_to_list(Bin) of
        Chars when is_list(Chars) -> scan(Chars);
        _ -> {error, {parse, <<"not UTF-8 text">>}}
    end.

scan(Chars) ->
    case erl_scan:string(Chars) of
        {ok, Tokens, End} -> parse(with_dot(Tokens, End));
        {error, {_, Module, Reason}, _} -> parse_error(Module, Reason)
    end.

%% The final dot is optional.
with_dot(Tokens, End) ->
    case lists:reverse(Tokens) of
        [{dot, _} | _] -> Tokens;
        _ -> Tokens ++ [{dot, End}]
    end.

parse(Tokens) ->
    case erl_parse:parse_term(Tokens) of
        {ok, Term} -> {ok, Term};
        {error, {_, Module, Reason}} -> parse_error(Module, Reason)
    end.

parse_error(Module, Reason) ->
    {error, {parse, unicode:characters_to_binary(Module:format_error(Reason))}}.

text(Term) ->
    unicode:characters_to_binary(io_lib:format("~0P", [Term, ?TEXT_DEPTH])).
