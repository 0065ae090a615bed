%% @doc Trace sessions: bounded tracing of chosen processes by the C tracer.
%%
%% A session traces a few processes for the process that starts it (its
%% owner). Events go into a ring buffer in C, written on the traced side,
%% and come back in order with {@link drain/1} or {@link stop/1}:
%%
%% ```
%% 1> {ok, S} = supertester_trace:start([Pid], #{events => ['receive']}).
%% 2> Pid ! hello.
%% 3> #{events := [{_Seq, _Time, Pid, 'receive', hello, undefined}]} =
%%        supertester_trace:stop(S).
%% '''
%%
%% An event is `{Seq, Time, Pid, Tag, Term, Extra}': `Time' is
%% `erlang:monotonic_time(nanosecond)', `Tag' and `Term' are those of
%% `erlang:trace/3' (the message for `receive', the new pid for `spawn', the
%% reason for `exit'...), `Extra' is the recipient of a `send' or the MFA of
%% a `spawn', else `undefined'. A message longer than `max_message_bytes'
%% (encoded) is kept as `{'$supertester_truncated', Bytes}'.
%%
%% Safety, in the spirit of recon_trace and redbug:
%% <ul>
%% <li>Limits are enforced in C on the traced side: after `max_events'
%%     events, or more than `max_rate' events in one second, the session
%%     stops by itself ({@link info/1} says why) and every flag it set is
%%     cleared. A full ring drops and counts; it never blocks the traced
%%     process and never grows.</li>
%% <li>The session belongs to its owner: when the owner dies, tracing stops
%%     and the flags are cleared, as after {@link stop/1}.</li>
%% <li>A process traced by anyone else is refused (`{already_traced, Pid,
%%     Tracer}'), and flags are only ever cleared on processes whose tracer
%%     is still this session. The toolkit's own processes (a session's
%%     controller, the process it notifies) are refused too.</li>
%% </ul>
%%
%% With `notify', events of the kinds in `notify_events' are also sent at
%% once to that process as `{supertester_trace_event, SessionRef, Event}'
%% (with `Seq' 0): waiting for a restart is a `receive', not a poll.
-module(supertester_trace).

-export([start/2, drain/1, stop/1, info/1, session_ref/1, targets/1]).
-export([flush_notifications/1]).
%% Internal: the entry point of a session's controller process (spawned by
%% module and function, so its initial call names this module and tracing
%% it is refused).
-export([controller/1]).

-export_type([session/0, event/0, kind/0]).

-type kind() :: send | send_to_non_existing_process | 'receive' | spawn | spawned |
                exit | link | unlink | getting_linked | getting_unlinked |
                register | unregister.
-type event() :: {Seq :: non_neg_integer(), Time :: integer(), pid(), kind(),
                  Term :: term(), Extra :: term()}.
-opaque session() :: #{ref := reference(), controller := pid(), targets := [pid()],
                       owner := pid()}.

-define(KINDS, [send, send_to_non_existing_process, 'receive', spawn, spawned, exit,
                link, unlink, getting_linked, getting_unlinked, register, unregister]).
%% The kinds the `procs' trace flag produces (and the `procs' option stands for).
-define(PROC_KINDS, ?KINDS -- [send, send_to_non_existing_process, 'receive']).
-define(DRAIN_BATCH, 10000).

%% @doc Starts tracing `Targets' (pids or registered names of live local
%% processes). Options:
%% <ul>
%% <li>`events': kinds to keep (default `[receive]'); `procs' stands for
%%     every process event (spawn, exit, link, register...).</li>
%% <li>`max_events' (default 100000; 0 for no limit), `max_rate' (events per
%%     second, default 0: no limit), `max_message_bytes' (default 4096),
%%     `capacity' (events held until drained; default the smaller of
%%     `max_events' and 65536).</li>
%% <li>`notify' (a pid) and `notify_events' (default: `events').</li>
%% <li>`set_on_spawn' (default false): processes the targets spawn are
%%     traced too.</li>
%% <li>`only' (default `[]': every tracee): events of other processes are
%%     discarded in `enabled/3', before the VM builds them (useful with
%%     `set_on_spawn').</li>
%% <li>`owner' (default `self()').</li>
%% </ul>
-spec start([pid() | atom()], supertester_lib:options()) -> {ok, session()} | {error, term()}.
start(Targets, Opts0) ->
    Opts = supertester_lib:options(start, Opts0,
                                   [events, max_events, max_rate, max_message_bytes,
                                    capacity, notify, notify_events, set_on_spawn, only,
                                    owner]),
    Kinds = kinds(events, maps:get(events, Opts, ['receive'])),
    MaxEvents = supertester_lib:check_non_neg_integer(max_events,
                                                      maps:get(max_events, Opts, 100000)),
    Notify = notify(maps:get(notify, Opts, undefined)),
    NotifyKinds = case Notify of
                      undefined -> [];
                      _ -> kinds(notify_events, maps:get(notify_events, Opts, Kinds))
                  end,
    Config = #{kinds => Kinds,
               notify_kinds => NotifyKinds,
               notify => Notify,
               only => only(maps:get(only, Opts, [])),
               max_events => MaxEvents,
               max_rate => supertester_lib:check_non_neg_integer(
                             max_rate, maps:get(max_rate, Opts, 0)),
               max_payload => supertester_lib:check_non_neg_integer(
                                max_message_bytes, maps:get(max_message_bytes, Opts, 4096)),
               capacity => supertester_lib:check_pos_integer(
                             capacity, maps:get(capacity, Opts, default_capacity(MaxEvents)))},
    Owner = maps:get(owner, Opts, self()),
    is_pid(Owner) orelse supertester_lib:bad_arg(owner, Owner, "a pid"),
    Flags = flags(Kinds) ++ [set_on_spawn || maps:get(set_on_spawn, Opts, false) =:= true],
    Pids = [supertester_lib:resolve_local_pid(targets, T) || T <- target_list(Targets)],
    case refusal(Pids, Config) of
        ok -> start_session(Owner, Pids, Config, Flags);
        {error, _} = Refused -> Refused
    end.

%% @doc Events stored since the last drain, oldest first.
-spec drain(session()) -> [event()].
drain(#{ref := Ref}) ->
    drain_all(Ref, []).

%% @doc Stops tracing, clears the flags the session set and returns what is
%% left: `#{events, info}' where `info' is {@link info/1}'s map.
-spec stop(session()) -> #{events := [event()], info := map()}.
stop(#{ref := Ref, controller := Controller} = Session) ->
    _ = supertester_nif:trace_session_stop(Ref),
    MRef = erlang:monitor(process, Controller),
    Controller ! {stop, self(), MRef},
    receive
        {MRef, stopped} -> erlang:demonitor(MRef, [flush]);
        {'DOWN', MRef, process, Controller, _} -> ok
    end,
    Events = drain(Session),
    flush_notifications(Session),
    #{events => Events, info => info(Session)}.

%% @doc `state' (`running', or why it stopped: `max_events', `max_rate',
%% `owner_down', `requested'), `offered', `stored', `dropped' (ring full),
%% `truncated', `drained', `pending', `capacity', `memory' (bytes) and
%% `targets'.
-spec info(session()) -> map().
info(#{ref := Ref, targets := Targets}) ->
    maps:put(targets, Targets, supertester_nif:trace_session_info(Ref)).

%% @doc The term that stands for the session in notifications and as the
%% tracer state.
-spec session_ref(session()) -> reference().
session_ref(#{ref := Ref}) -> Ref.

-spec targets(session()) -> [pid()].
targets(#{targets := Targets}) -> Targets.

%% @doc Drops the notifications of this session left in the caller's
%% mailbox.
-spec flush_notifications(session()) -> ok.
flush_notifications(#{ref := Ref} = Session) ->
    receive
        {supertester_trace_event, Ref, _} -> flush_notifications(Session);
        {supertester_trace_stopped, Ref, _} -> flush_notifications(Session)
    after 0 -> ok
    end.

%% Internals

target_list(Targets) when is_list(Targets) -> Targets;
target_list(Other) -> supertester_lib:bad_arg(targets, Other, "a list of pids or registered names").

kinds(Option, procs) -> kinds(Option, [procs]);
kinds(Option, Kinds) when is_list(Kinds) ->
    lists:usort(lists:flatmap(fun(procs) -> ?PROC_KINDS;
                                 (K) -> case lists:member(K, ?KINDS) of
                                            true -> [K];
                                            false -> bad_kinds(Option, Kinds)
                                        end
                              end, Kinds));
kinds(Option, Other) ->
    bad_kinds(Option, Other).

-spec bad_kinds(atom(), term()) -> no_return().
bad_kinds(Option, Value) ->
    supertester_lib:bad_arg(Option, Value,
                            ["a list of trace event kinds: procs, ",
                             lists:join(", ", [io_lib:format("~p", [K]) || K <- ?KINDS])]).

only(Pids) when is_list(Pids) ->
    [case is_pid(P) andalso node(P) =:= node() of
         true -> P;
         false -> supertester_lib:bad_arg(only, Pids, "a list of local pids")
     end || P <- Pids];
only(Other) ->
    supertester_lib:bad_arg(only, Other, "a list of local pids").

notify(undefined) -> undefined;
notify(Pid) when is_pid(Pid) -> Pid;
notify(Other) -> supertester_lib:bad_arg(notify, Other, "a pid").

default_capacity(0) -> 65536;
default_capacity(MaxEvents) -> min(MaxEvents, 65536).

%% The erlang:trace/3 flags that produce the kinds.
flags(Kinds) ->
    Any = fun(Of) -> lists:any(fun(K) -> lists:member(K, Kinds) end, Of) end,
    ['receive' || lists:member('receive', Kinds)] ++
        [send || Any([send, send_to_non_existing_process])] ++
        [procs || Any(?PROC_KINDS)].

%% Tracing is refused for processes already traced by someone else, and for
%% the toolkit's own processes: tracing the process that receives
%% notifications would feed on itself.
refusal([], _Config) ->
    ok;
refusal([Pid | Rest], #{notify := Notify} = Config) ->
    case Pid =:= Notify orelse toolkit_process(Pid) of
        true ->
            {error, {own_machinery, Pid}};
        false ->
            case erlang:trace_info(Pid, tracer) of
                {tracer, []} -> refusal(Rest, Config);
                {tracer, Tracer} -> {error, {already_traced, Pid, Tracer}};
                undefined -> {error, {noproc, Pid}}
            end
    end.

toolkit_process(Pid) ->
    case erlang:process_info(Pid, [initial_call, registered_name]) of
        [{initial_call, {Module, _, _}}, {registered_name, Name}] ->
            Module =:= ?MODULE orelse Name =:= supertester_janitor;
        _ ->
            false
    end.

start_session(Owner, Pids, Config, Flags) ->
    Controller = spawn(?MODULE, controller, [Owner]),
    Ref = supertester_nif:trace_session_new(Owner, Controller, Config),
    Traced = [Pid || Pid <- Pids, trace_on(Pid, Ref, Flags)],
    Controller ! {session, Ref, Traced, Flags, maps:get(notify, Config)},
    {ok, #{ref => Ref, controller => Controller, targets => Traced, owner => Owner}}.

trace_on(Pid, Ref, Flags) ->
    try erlang:trace(Pid, true, [{tracer, supertester_nif, Ref} | Flags]) of
        1 -> true;
        _ -> false
    catch
        error:badarg -> false % it died in between
    end.

%% The controller: one unlinked process per session. It outlives a crashing
%% owner long enough to clear the flags, and clears them too when a limit
%% stops the session on the traced side.
-spec controller(pid()) -> ok.
controller(Owner) ->
    OwnerMon = erlang:monitor(process, Owner),
    receive
        {session, Ref, Traced, Flags, Notify} ->
            controller_loop(#{ref => Ref, traced => Traced, flags => Flags,
                              notify => Notify, owner_mon => OwnerMon});
        {'DOWN', OwnerMon, process, Owner, _} ->
            ok
    end.

controller_loop(#{ref := Ref, owner_mon := OwnerMon} = State) ->
    receive
        {supertester_trace_stopped, Ref, Why} = Stopped ->
            clear(State),
            %% A waiter on notifications must not wait for events that
            %% will never come.
            _ = [Notify ! Stopped || Notify <- [maps:get(notify, State)], is_pid(Notify),
                                     Why =/= owner_down],
            controller_loop(State);
        {stop, From, Tag} ->
            clear(State),
            From ! {Tag, stopped},
            ok;
        {'DOWN', OwnerMon, process, _, _} ->
            _ = supertester_nif:trace_session_stop(Ref),
            clear(State)
    end.

%% Clears the flags on every target still traced by this session; anything
%% traced by someone else since is left alone. OTP 25's spec of
%% erlang:trace_info/2 leaves out the {Module, State} form of a tracer,
%% which is what it returns here, so dialyzer is told not to judge the match.
-dialyzer({no_match, clear/1}).
clear(#{ref := Ref, traced := Traced, flags := Flags}) ->
    lists:foreach(
      fun(Pid) ->
              case erlang:trace_info(Pid, tracer) of
                  {tracer, {supertester_nif, Ref}} ->
                      catch erlang:trace(Pid, false, Flags);
                  _ ->
                      ok
              end
      end, Traced).

drain_all(Ref, Acc) ->
    case supertester_nif:trace_session_drain(Ref, ?DRAIN_BATCH) of
        [] -> lists:append(lists:reverse(Acc));
        Batch -> drain_all(Ref, [Batch | Acc])
    end.
