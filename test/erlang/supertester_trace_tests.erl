%% supertester_trace (trace sessions on the C tracer) and
%% supertester_message_harness, from Erlang.
%%
%% A message sent to a process reaches its signal queue at once, but the
%% 'receive' trace event is produced when the process moves it into its
%% message queue. Every test therefore syncs with the traced process
%% (process_info/2 on it, a signal handled after the caller's earlier
%% messages) before it reads the session.
-module(supertester_trace_tests).

-include_lib("eunit/include/eunit.hrl").

-export([idle/0]).

-define(BADARG(Expr), ?assertError({badarg, #{argument := _}}, Expr)).

%% ------------------------------------------------------------ helpers

%% A process that never consumes its mailbox except for `stop'.
holder() ->
    spawn(fun() -> receive stop -> ok end end).

%% A process that sends what it is told to send, spawns, registers and
%% exits when told to.
actor() ->
    spawn(fun actor_loop/0).

actor_loop() ->
    receive
        {send_to, To, Msg} ->
            To ! Msg,
            actor_loop();
        {spawn, From} ->
            Child = spawn(?MODULE, idle, []),
            From ! {spawned, self(), Child},
            actor_loop();
        {register, Name, From} ->
            true = register(Name, self()),
            From ! {registered, self()},
            actor_loop();
        {exit, Reason} ->
            exit(Reason)
    end.

%% Spawned by the actor through an MFA: waits to be stopped.
idle() ->
    receive stop -> ok end.

%% Returns once Pid has moved every signal the caller sent it before into
%% its message queue (so their 'receive' events exist).
sync(Pid) ->
    _ = erlang:process_info(Pid, message_queue_len),
    ok.

%% Stops Pid (any process) and waits until it is gone.
kill(Pid) ->
    Mon = erlang:monitor(process, Pid),
    exit(Pid, kill),
    receive {'DOWN', Mon, process, Pid, _} -> ok end.

await_down(Pid) ->
    Mon = erlang:monitor(process, Pid),
    receive {'DOWN', Mon, process, Pid, Reason} -> Reason end.

untraced(Pid) ->
    ?assertEqual({flags, []}, erlang:trace_info(Pid, flags)),
    ?assertEqual({tracer, []}, erlang:trace_info(Pid, tracer)).

%% A finished session leaves nothing for the caller in its mailbox.
no_notifications(S) ->
    Ref = supertester_trace:session_ref(S),
    ?assertEqual(none, receive {supertester_trace_event, Ref, E} -> E after 0 -> none end).

%% ------------------------------------------------------------ receive / send / procs

receive_events_come_in_order_test() ->
    P = holder(),
    {ok, S} = supertester_trace:start([P], #{events => ['receive']}),
    ?assertEqual([P], supertester_trace:targets(S)),
    Msgs = [{msg, I, lists:duplicate(I, I)} || I <- lists:seq(1, 20)],
    [P ! M || M <- Msgs],
    sync(P),
    #{events := Events, info := Info} = supertester_trace:stop(S),
    ?assertEqual(Msgs, [Term || {_, _, _, _, Term, _} <- Events]),
    ?assertEqual(lists:seq(0, 19), [Seq || {Seq, _, _, _, _, _} <- Events]),
    ?assertEqual([{P, 'receive', undefined}],
                 lists:usort([{Pid, Tag, Extra} || {_, _, Pid, Tag, _, Extra} <- Events])),
    Times = [T || {_, T, _, _, _, _} <- Events],
    ?assert(lists:all(fun is_integer/1, Times)),
    ?assertEqual(Times, lists:sort(Times)),
    %% Times are erlang:monotonic_time(nanosecond), taken while the test ran.
    Now = erlang:monotonic_time(nanosecond),
    ?assert(lists:last(Times) =< Now),
    ?assertMatch(#{state := requested, stored := 20, drained := 20, pending := 0,
                   dropped := 0, truncated := 0, offered := 20}, Info),
    ?assertEqual([P], maps:get(targets, Info)),
    untraced(P),
    kill(P).

%% Only the kinds asked for are stored: a 'receive' session does not see
%% sends, and a send-only session does not see receives.
kinds_filter_events_test() ->
    P = actor(),
    {ok, S} = supertester_trace:start([P], #{events => [send]}),
    P ! {send_to, self(), hi},
    receive hi -> ok end,
    #{events := Events} = supertester_trace:stop(S),
    Self = self(),
    ?assertMatch([{0, _, P, send, hi, Self}], Events),
    kill(P).

send_events_carry_the_recipient_test() ->
    P = actor(),
    Dead = spawn(fun() -> ok end),
    _ = await_down(Dead),
    Other = holder(),
    {ok, S} = supertester_trace:start([P], #{events => [send, send_to_non_existing_process]}),
    P ! {send_to, Dead, lost},
    P ! {send_to, Other, {to, other}},
    P ! {send_to, self(), {to, me}},
    receive {to, me} -> ok end,
    #{events := Events} = supertester_trace:stop(S),
    Self = self(),
    ?assertEqual([{send_to_non_existing_process, lost, Dead},
                  {send, {to, other}, Other},
                  {send, {to, me}, Self}],
                 [{Tag, Term, Extra} || {_, _, Pid, Tag, Term, Extra} <- Events, Pid =:= P]),
    ?assertEqual({messages, [{to, other}]}, erlang:process_info(Other, messages)),
    [kill(X) || X <- [P, Other]].

procs_events_test() ->
    P = actor(),
    Name = supertester_trace_tests_actor,
    {ok, S} = supertester_trace:start([P], #{events => procs}),
    P ! {spawn, self()},
    Child = receive {spawned, P, C} -> C end,
    P ! {register, Name, self()},
    receive {registered, P} -> ok end,
    Reason = {custom_exit, make_ref()},
    P ! {exit, Reason},
    ?assertEqual(Reason, await_down(P)),
    #{events := Events, info := #{state := requested}} = supertester_trace:stop(S),
    Seen = [{Tag, Term, Extra} || {_, _, Pid, Tag, Term, Extra} <- Events, Pid =:= P],
    ?assertEqual([{spawn, Child, {?MODULE, idle, []}},
                  {register, Name, undefined},
                  {exit, Reason, undefined},
                  {unregister, Name, undefined}],
                 Seen),
    %% procs does not include messages.
    ?assertEqual([], [E || {_, _, _, 'receive', _, _} = E <- Events]),
    kill(Child).

drain_returns_what_is_new_test() ->
    P = holder(),
    {ok, S} = supertester_trace:start([P], #{}),
    [P ! {first, I} || I <- [1, 2, 3]],
    sync(P),
    First = supertester_trace:drain(S),
    ?assertEqual([{first, 1}, {first, 2}, {first, 3}], [T || {_, _, _, _, T, _} <- First]),
    ?assertEqual([], supertester_trace:drain(S)),
    ?assertMatch(#{state := running, stored := 3, drained := 3, pending := 0},
                 supertester_trace:info(S)),
    [P ! {second, I} || I <- [4, 5]],
    sync(P),
    #{events := Rest, info := Info} = supertester_trace:stop(S),
    ?assertEqual([{3, {second, 4}}, {4, {second, 5}}], [{Seq, T} || {Seq, _, _, _, T, _} <- Rest]),
    ?assertMatch(#{state := requested, stored := 5, drained := 5, pending := 0}, Info),
    untraced(P),
    %% Nothing more is recorded after stop, and a second stop is harmless.
    P ! after_stop,
    sync(P),
    ?assertMatch(#{events := [], info := #{state := requested, stored := 5}},
                 supertester_trace:stop(S)),
    kill(P).

registered_names_are_targets_test() ->
    P = holder(),
    Name = supertester_trace_tests_named,
    true = register(Name, P),
    {ok, S} = supertester_trace:start([Name], #{}),
    ?assertEqual([P], supertester_trace:targets(S)),
    Name ! by_name,
    sync(P),
    ?assertMatch(#{events := [{0, _, P, 'receive', by_name, undefined}]},
                 supertester_trace:stop(S)),
    kill(P).

%% Every kind of term comes back as it was sent: immediates and small
%% tuples of them (stored as raw words) as well as everything else
%% (stored in the external term format).
terms_round_trip_test() ->
    P = holder(),
    Self = self(),
    Terms = [atom, 42, -42, (1 bsl 59) - 1, 1 bsl 59, -(1 bsl 59), -(1 bsl 59) - 1,
             1 bsl 64, Self, [], {}, {a}, {a, 1, Self, []}, {a, b, c, d, e},
             {1.5}, 2.5, {a, <<"bin">>}, <<"bin">>, "string", [a | b],
             #{k => v}, make_ref(), {'EXIT', Self, killed},
             {'DOWN', make_ref(), process, Self, normal}, {{nested}, x}],
    {ok, S} = supertester_trace:start([P], #{}),
    [P ! T || T <- Terms],
    sync(P),
    #{events := Events} = supertester_trace:stop(S),
    ?assertEqual(Terms, [T || {_, _, _, _, T, _} <- Events]),
    kill(P).

%% With set_on_spawn, what the target spawns is traced by the same
%% session, and stop leaves neither traced.
set_on_spawn_test() ->
    P = actor(),
    {ok, S} = supertester_trace:start([P], #{events => ['receive'], set_on_spawn => true}),
    P ! {spawn, self()},
    Child = receive {spawned, P, C} -> C end,
    Child ! to_child,
    sync(Child),
    #{events := Events} = supertester_trace:stop(S),
    ?assertEqual([{P, {spawn, self()}}, {Child, to_child}],
                 [{Pid, T} || {_, _, Pid, 'receive', T, _} <- Events]),
    untraced(P),
    untraced(Child),
    [kill(X) || X <- [P, Child]].

%% `only' filters in enabled/3: the spawned child inherits the flags, but
%% its events are discarded before they are built.
only_keeps_the_listed_tracees_test() ->
    P = actor(),
    {ok, S} = supertester_trace:start([P], #{events => ['receive'], set_on_spawn => true,
                                            only => [P]}),
    P ! {spawn, self()},
    Child = receive {spawned, P, C} -> C end,
    Child ! to_child,
    sync(Child),
    P ! to_parent,
    sync(P),
    #{events := Events, info := Info} = supertester_trace:stop(S),
    ?assertEqual([{P, {spawn, self()}}, {P, to_parent}],
                 [{Pid, T} || {_, _, Pid, 'receive', T, _} <- Events]),
    ?assertMatch(#{offered := 2}, Info),
    ?assertError({badarg, _}, supertester_trace:start([P], #{only => [not_a_pid]})),
    [kill(X) || X <- [P, Child]].

%% ------------------------------------------------------------ limits

max_events_stops_the_session_and_clears_the_flags_test() ->
    P = holder(),
    {ok, S} = supertester_trace:start([P], #{max_events => 10}),
    [P ! {m, I} || I <- lists:seq(1, 1000)],
    sync(P),
    ?assertMatch(#{state := max_events, stored := 10}, supertester_trace:info(S)),
    %% The stopped session answers `remove' to the next event: the tracee
    %% loses its tracer there and then.
    P ! one_more,
    sync(P),
    untraced(P),
    #{events := Events, info := Info} = supertester_trace:stop(S),
    ?assertEqual([{m, I} || I <- lists:seq(1, 10)], [T || {_, _, _, _, T, _} <- Events]),
    %% The first stop reason stays.
    ?assertMatch(#{state := max_events, stored := 10, dropped := 0}, Info),
    {message_queue_len, 1001} = erlang:process_info(P, message_queue_len),
    kill(P).

%% The controller is told when a limit stops the session, and passes it on
%% to the process it notifies.
limit_stop_is_announced_to_notify_test() ->
    P = holder(),
    {ok, S} = supertester_trace:start([P], #{max_events => 3, notify => self()}),
    Ref = supertester_trace:session_ref(S),
    [P ! {m, I} || I <- lists:seq(1, 5)],
    ?assertEqual(max_events, receive {supertester_trace_stopped, Ref, Why} -> Why end),
    Notified = [receive {supertester_trace_event, Ref, E} -> E end || _ <- [1, 2, 3]],
    ?assertEqual([{m, 1}, {m, 2}, {m, 3}], [T || {0, _, _, 'receive', T, _} <- Notified]),
    #{events := Events} = supertester_trace:stop(S),
    ?assertEqual(3, length(Events)),
    no_notifications(S),
    kill(P).

max_message_bytes_truncates_test() ->
    P = holder(),
    {ok, S} = supertester_trace:start([P], #{max_message_bytes => 100}),
    Big = binary:copy(<<7>>, 10000),
    P ! Big,
    P ! lists:seq(1, 1000),
    P ! small,
    sync(P),
    #{events := Events, info := Info} = supertester_trace:stop(S),
    ?assertMatch([{'$supertester_truncated', 10000},
                  {'$supertester_truncated', N},
                  small] when N > 100,
                 [T || {_, _, _, _, T, _} <- Events]),
    ?assertMatch(#{truncated := 2, stored := 3}, Info),
    kill(P).

%% A full ring drops and counts: the sender is never blocked and the
%% process gets every message.
capacity_drops_instead_of_blocking_test() ->
    P = holder(),
    {ok, S} = supertester_trace:start([P], #{capacity => 16, max_events => 0}),
    [P ! {m, I} || I <- lists:seq(1, 100)],
    sync(P),
    ?assertMatch(#{state := running, stored := 16, dropped := 84, offered := 100,
                   pending := 16, capacity := 16},
                 supertester_trace:info(S)),
    ?assertEqual({message_queue_len, 100}, erlang:process_info(P, message_queue_len)),
    #{events := Events, info := Info} = supertester_trace:stop(S),
    ?assertEqual([{m, I} || I <- lists:seq(1, 16)], [T || {_, _, _, _, T, _} <- Events]),
    ?assertMatch(#{stored := 16, dropped := 84, drained := 16}, Info),
    kill(P).

%% Draining makes room again.
drained_ring_takes_new_events_test() ->
    P = holder(),
    {ok, S} = supertester_trace:start([P], #{capacity => 4, max_events => 0}),
    [P ! {a, I} || I <- lists:seq(1, 6)],
    sync(P),
    ?assertEqual([{a, 1}, {a, 2}, {a, 3}, {a, 4}],
                 [T || {_, _, _, _, T, _} <- supertester_trace:drain(S)]),
    [P ! {b, I} || I <- lists:seq(1, 3)],
    sync(P),
    #{events := Events, info := Info} = supertester_trace:stop(S),
    ?assertEqual([{b, 1}, {b, 2}, {b, 3}], [T || {_, _, _, _, T, _} <- Events]),
    ?assertMatch(#{stored := 7, dropped := 2}, Info),
    kill(P).

max_rate_stops_the_session_test() ->
    P = holder(),
    {ok, S} = supertester_trace:start([P], #{max_rate => 100, max_events => 0}),
    [P ! {m, I} || I <- lists:seq(1, 10000)],
    sync(P),
    #{state := State, stored := Stored} = supertester_trace:info(S),
    ?assertEqual(max_rate, State),
    %% At most max_rate per one-second window; a burst may straddle two.
    ?assert(Stored >= 1 andalso Stored =< 200),
    P ! one_more,
    sync(P),
    untraced(P),
    #{events := Events, info := #{state := max_rate}} = supertester_trace:stop(S),
    ?assertEqual([{m, I} || I <- lists:seq(1, Stored)], [T || {_, _, _, _, T, _} <- Events]),
    kill(P).

%% ------------------------------------------------------------ ownership and refusals

owner_death_stops_tracing_test() ->
    P = holder(),
    Self = self(),
    Owner = spawn(fun() ->
                          {ok, S} = supertester_trace:start([P], #{}),
                          Self ! {session, S},
                          receive after infinity -> ok end
                  end),
    S = receive {session, Session} -> Session end,
    ?assertMatch({tracer, {supertester_nif, _}}, erlang:trace_info(P, tracer)),
    #{controller := Controller} = S,
    Mon = erlang:monitor(process, Controller),
    exit(Owner, kill),
    receive {'DOWN', Mon, process, Controller, _} -> ok end,
    untraced(P),
    %% The session's monitor on the owner stops it (owner_down); the
    %% controller, which monitors the owner too, may get there first.
    ?assert(lists:member(maps:get(state, supertester_trace:info(S)), [owner_down, requested])),
    P ! after_owner,
    sync(P),
    ?assertEqual([], supertester_trace:drain(S)),
    kill(P).

%% The owner option gives the session to another process.
owner_option_test() ->
    P = holder(),
    Owner = holder(),
    {ok, S} = supertester_trace:start([P], #{owner => Owner}),
    #{controller := Controller} = S,
    Mon = erlang:monitor(process, Controller),
    kill(Owner),
    receive {'DOWN', Mon, process, Controller, _} -> ok end,
    untraced(P),
    ?assert(lists:member(maps:get(state, supertester_trace:info(S)), [owner_down, requested])),
    kill(P).

already_traced_process_is_refused_test() ->
    P = holder(),
    Self = self(),
    1 = erlang:trace(P, true, ['receive']),
    try
        ?assertMatch({error, {already_traced, P, Self}}, supertester_trace:start([P], #{})),
        %% The existing tracing is untouched.
        ?assertEqual({tracer, Self}, erlang:trace_info(P, tracer)),
        ?assertEqual({flags, ['receive']}, erlang:trace_info(P, flags)),
        P ! still_mine,
        ?assertEqual({trace, P, 'receive', still_mine},
                     receive {trace, P, 'receive', _} = T -> T end)
    after
        erlang:trace(P, false, ['receive'])
    end,
    kill(P).

%% A refusal of one target refuses the whole session: the other targets
%% are not left traced.
refusal_leaves_other_targets_untraced_test() ->
    P = holder(),
    Q = holder(),
    1 = erlang:trace(Q, true, ['receive']),
    try
        ?assertMatch({error, {already_traced, Q, _}}, supertester_trace:start([P, Q], #{})),
        untraced(P)
    after
        erlang:trace(Q, false, ['receive'])
    end,
    [kill(X) || X <- [P, Q]].

notify_process_is_refused_as_target_test() ->
    P = holder(),
    ?assertMatch({error, {own_machinery, P}},
                 supertester_trace:start([P], #{notify => P})),
    untraced(P),
    kill(P).

%% A session's controller belongs to the toolkit: another session refuses
%% to trace it.
controller_is_refused_as_target_test() ->
    P = holder(),
    {ok, S} = supertester_trace:start([P], #{}),
    #{controller := Controller} = S,
    Result = supertester_trace:start([Controller], #{}),
    case Result of
        {ok, S2} -> _ = supertester_trace:stop(S2);
        _ -> ok
    end,
    _ = supertester_trace:stop(S),
    ?assertMatch({error, {own_machinery, Controller}}, Result),
    kill(P).

two_sessions_on_distinct_processes_test() ->
    P = holder(),
    Q = holder(),
    {ok, SP} = supertester_trace:start([P], #{}),
    {ok, SQ} = supertester_trace:start([Q], #{}),
    P ! to_p,
    Q ! to_q,
    sync(P),
    sync(Q),
    ?assertMatch(#{events := [{0, _, P, 'receive', to_p, _}]}, supertester_trace:stop(SP)),
    ?assertMatch(#{events := [{0, _, Q, 'receive', to_q, _}]}, supertester_trace:stop(SQ)),
    [kill(X) || X <- [P, Q]].

bad_arguments_test() ->
    P = holder(),
    ?BADARG(supertester_trace:start([P], #{bogus => 1})),
    ?BADARG(supertester_trace:start([P], #{events => [foo]})),
    ?BADARG(supertester_trace:start([P], #{events => 'receive'})),
    ?BADARG(supertester_trace:start([P], #{max_events => -1})),
    ?BADARG(supertester_trace:start([P], #{max_rate => fast})),
    ?BADARG(supertester_trace:start([P], #{max_message_bytes => -5})),
    ?BADARG(supertester_trace:start([P], #{capacity => 0})),
    ?BADARG(supertester_trace:start([P], #{notify => self})),
    ?BADARG(supertester_trace:start([P], #{notify => self(), notify_events => [nope]})),
    ?BADARG(supertester_trace:start([P], #{owner => nobody})),
    ?BADARG(supertester_trace:start(P, #{})),
    ?BADARG(supertester_trace:start([supertester_trace_tests_nobody], #{})),
    ?BADARG(supertester_trace:start([{not_a, process}], #{})),
    Dead = spawn(fun() -> ok end),
    _ = await_down(Dead),
    ?BADARG(supertester_trace:start([Dead], #{})),
    ?BADARG(supertester_trace:start([P], not_options)),
    %% Nothing was traced by the refused calls.
    untraced(P),
    kill(P).

%% ------------------------------------------------------------ notify

notify_sends_events_of_the_notify_kinds_test() ->
    P = holder(),
    {ok, S} = supertester_trace:start([P], #{events => ['receive', exit], notify => self(),
                                             notify_events => [exit]}),
    Ref = supertester_trace:session_ref(S),
    ?assert(is_reference(Ref)),
    P ! not_notified,
    P ! stop,
    ?assertMatch({0, _, P, exit, normal, undefined},
                 receive {supertester_trace_event, Ref, E} -> E end),
    %% The 'receive' events came first from the same process: none of them
    %% was sent.
    no_notifications(S),
    #{events := Events} = supertester_trace:stop(S),
    ?assertEqual([{'receive', not_notified}, {'receive', stop}, {exit, normal}],
                 [{Tag, T} || {_, _, _, Tag, T, _} <- Events]).

notify_events_default_to_events_test() ->
    P = holder(),
    {ok, S} = supertester_trace:start([P], #{notify => self()}),
    Ref = supertester_trace:session_ref(S),
    P ! ping,
    ?assertMatch({0, _, P, 'receive', ping, undefined},
                 receive {supertester_trace_event, Ref, E} -> E end),
    _ = supertester_trace:stop(S),
    no_notifications(S),
    kill(P).

%% ------------------------------------------------------------ flood

counter(N) ->
    receive
        {count, From} ->
            From ! {count, self(), N},
            counter(N);
        _ ->
            counter(N + 1)
    end.

flood_test_() ->
    {timeout, 300, fun flood/0}.

flood() ->
    Total = 2000000,
    Counter = spawn(fun() -> counter(0) end),
    {ok, S} = supertester_trace:start([Counter], #{max_events => 1000}),
    Self = self(),
    {Sender, SenderMon} = spawn_monitor(fun() ->
                                                send_n(Counter, Total),
                                                %% After all of them, from the same sender.
                                                Counter ! {count, Self}
                                        end),
    Count = receive {count, Counter, N} -> N end,
    ?assertEqual(Total, Count),
    #{state := State, stored := Stored, memory := Memory,
      capacity := Capacity} = supertester_trace:info(S),
    ?assertEqual(max_events, State),
    ?assertEqual(1000, Stored),
    %% Fixed at creation: the ring for `capacity' events, a few hundred
    %% bytes each at most, and no out-of-line payloads for small messages.
    ?assert(Capacity >= 1000 andalso Capacity =< 1024),
    ?assert(Memory =< Capacity * 256),
    ?assert(Memory < 1 bsl 20),
    untraced(Counter),
    #{events := Events} = supertester_trace:stop(S),
    ?assertEqual(1000, length(Events)),
    ?assertEqual(lists:seq(0, 999), [Seq || {Seq, _, _, _, _, _} <- Events]),
    receive {'DOWN', SenderMon, process, Sender, SenderExit} -> ?assertEqual(normal, SenderExit) end,
    kill(Counter).

send_n(_To, 0) -> ok;
send_n(To, N) -> To ! {flood, N}, send_n(To, N - 1).

%% ------------------------------------------------------------ message harness

harness_records_messages_in_arrival_order_test() ->
    P = holder(),
    P ! before,
    Report = supertester_message_harness:trace_messages(
               P, fun() -> P ! m1, P ! {m2, x}, P ! <<"m3">>, 42 end),
    ?assertEqual(#{messages => [m1, {m2, x}, <<"m3">>],
                   result => 42,
                   initial_mailbox => [before],
                   final_mailbox => [before, m1, {m2, x}, <<"m3">>]}, Report),
    untraced(P),
    kill(P).

harness_sees_messages_from_other_processes_test() ->
    P = holder(),
    Report = supertester_message_harness:trace_messages(
               P, fun() ->
                          {Helper, Mon} = spawn_monitor(fun() -> P ! from_helper end),
                          receive {'DOWN', Mon, process, Helper, normal} -> ok end,
                          P ! from_caller,
                          done
                  end),
    ?assertMatch(#{messages := [from_helper, from_caller], result := done,
                   initial_mailbox := [], final_mailbox := [from_helper, from_caller]},
                 Report),
    kill(P).

harness_by_name_and_options_test() ->
    P = holder(),
    Name = supertester_trace_tests_harness,
    true = register(Name, P),
    Report = supertester_message_harness:trace_messages(
               Name, fun() -> [Name ! {n, I} || I <- lists:seq(1, 5)], ok end,
               [{max_messages, 2}]),
    ?assertMatch(#{messages := [{n, 1}, {n, 2}], result := ok}, Report),
    ?assertEqual(5, length(maps:get(final_mailbox, Report))),
    Big = binary:copy(<<1>>, 5000),
    #{messages := Msgs} = supertester_message_harness:trace_messages(
                            P, fun() -> P ! Big, P ! tiny end, #{max_message_bytes => 64}),
    ?assertEqual([{'$supertester_truncated', 5000}, tiny], Msgs),
    untraced(P),
    kill(P).

harness_propagates_exceptions_and_untraces_test() ->
    P = holder(),
    ?assertError(boom, supertester_message_harness:trace_messages(
                         P, fun() -> P ! before_boom, error(boom) end)),
    untraced(P),
    ?assertThrow(thrown, supertester_message_harness:trace_messages(
                           P, fun() -> throw(thrown) end)),
    untraced(P),
    ?assertExit(exited, supertester_message_harness:trace_messages(
                          P, fun() -> exit(exited) end)),
    untraced(P),
    %% A later trace works: nothing was left behind.
    ?assertMatch(#{messages := [again]},
                 supertester_message_harness:trace_messages(P, fun() -> P ! again end)),
    kill(P).

harness_bad_arguments_test() ->
    P = holder(),
    Dead = spawn(fun() -> ok end),
    _ = await_down(Dead),
    ?BADARG(supertester_message_harness:trace_messages(Dead, fun() -> ok end)),
    ?BADARG(supertester_message_harness:trace_messages(supertester_trace_tests_nobody,
                                                       fun() -> ok end)),
    ?BADARG(supertester_message_harness:trace_messages("pid", fun() -> ok end)),
    ?BADARG(supertester_message_harness:trace_messages(P, not_a_fun)),
    ?BADARG(supertester_message_harness:trace_messages(P, fun(_) -> ok end)),
    ?BADARG(supertester_message_harness:trace_messages(P, fun() -> ok end, [{max_msgs, 1}])),
    untraced(P),
    kill(P).

harness_refuses_a_process_traced_by_someone_else_test() ->
    P = holder(),
    1 = erlang:trace(P, true, ['receive']),
    try
        ?assertError({cannot_trace, {already_traced, P, _}},
                     supertester_message_harness:trace_messages(P, fun() -> ok end)),
        ?assertEqual({flags, ['receive']}, erlang:trace_info(P, flags))
    after
        erlang:trace(P, false, ['receive'])
    end,
    kill(P).
