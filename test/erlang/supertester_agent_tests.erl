%% supertester_agent, the module the C-node loads onto a live node, driven
%% as the C-node drives it: the test process is the session's owner, sends
%% `{st, Ref, Request}' and receives `{st_reply, Ref, Reply}' and
%% `{st_event, Ref, Event}' (see c_src/cnode/AGENT_PROTOCOL.md).
%%
%% Everything runs on real OTP processes: agent_fixture_sup supervisors of
%% each strategy, agent_fixture_server workers, a fixture application, and
%% peer nodes for partitions.
%%
%% The last session to end deletes the module from this VM; the next test
%% loads it again from the code path. Every test therefore waits until its
%% session is dead and purges the old code, as the C-node does after
%% `stop', before the next one starts.
-module(supertester_agent_tests).

-include_lib("eunit/include/eunit.hrl").

-import(agent_fixture_sup, [worker/1, worker/2, start_sup/1, stop_sup/1, child_pid/2]).

-define(AGENT, supertester_agent).

%% ------------------------------------------------------------ helpers

agent() -> agent(#{}).

agent(Options) ->
    {ok, Agent} = ?AGENT:start(self(), Options),
    Agent.

with_agent(Test) -> with_agent(#{}, Test).

with_agent(Options, Test) ->
    Agent = agent(Options),
    try Test(Agent)
    after stop_agent(Agent)
    end.

%% Stops the session and returns once it is dead and the module purged.
stop_agent(Agent) ->
    Mon = erlang:monitor(process, Agent),
    ?assertEqual(ok, ask(Agent, stop)),
    receive {'DOWN', Mon, process, Agent, _} -> ok end,
    _ = code:purge(?AGENT),
    ok.

send_request(Agent, Request) ->
    Ref = make_ref(),
    Agent ! {st, Ref, Request},
    Ref.

ask(Agent, Request) ->
    reply(send_request(Agent, Request)).

reply(Ref) ->
    receive
        {st_reply, Ref, Reply} -> Reply
    after 10000 -> error(no_reply)
    end.

%% The events of a request, then its reply.
collect(Ref) -> collect(Ref, []).

collect(Ref, Events) ->
    receive
        {st_event, Ref, Event} -> collect(Ref, [Event | Events]);
        {st_reply, Ref, Reply} -> {lists:reverse(Events), Reply}
    after 10000 -> error(no_reply)
    end.

%% Returns once a worker of the agent traces Pid. The agent gives no sign
%% of it, and only a traced process can produce the events a test waits
%% for.
wait_traced(Pid) -> wait_traced(Pid, 100000).

wait_traced(Pid, 0) ->
    error({not_traced, Pid});
wait_traced(Pid, N) ->
    case erlang:trace_info(Pid, tracer) of
        {tracer, []} -> erlang:yield(), wait_traced(Pid, N - 1);
        {tracer, Tracer} -> Tracer
    end.

text(Term) ->
    unicode:characters_to_binary(io_lib:format("~0P", [Term, 20])).

%% A process that waits for `stop'.
idle() ->
    spawn(fun() -> receive stop -> ok end end).

kill_and_wait(Pid) ->
    Mon = erlang:monitor(process, Pid),
    exit(Pid, kill),
    receive {'DOWN', Mon, process, Pid, _} -> ok end.

wait_down(Pid) ->
    Mon = erlang:monitor(process, Pid),
    receive {'DOWN', Mon, process, Pid, _} -> ok end.

three(Strategy) ->
    #{strategy => Strategy, intensity => 10, children => [worker(Id) || Id <- [a, b, c]]}.

with_sup(Args, Test) ->
    Sup = start_sup(Args),
    try Test(Sup)
    after stop_sup(Sup)
    end.

sessions() ->
    [P || P <- processes(),
          erlang:process_info(P, initial_call) =:= {initial_call, {?AGENT, session_init, 2}}].

%% ------------------------------------------------------------ start

start_refuses_bad_input_test() ->
    ?assertEqual({error, {bad_owner, nobody}}, ?AGENT:start(nobody, #{})),
    ?assertEqual({error, {bad_options, []}}, ?AGENT:start(self(), [])),
    ?assertEqual({error, {bad_option, max_backlog, 0}}, ?AGENT:start(self(), #{max_backlog => 0})),
    ?assertEqual({error, {bad_option, colour, red}}, ?AGENT:start(self(), #{colour => red})),
    ?assertEqual([], sessions()).

%% ------------------------------------------------------------ simple requests

ping_test() ->
    with_agent(fun(A) -> ?assertEqual(pong, ask(A, ping)) end).

whereis_test() ->
    with_agent(fun(A) ->
                       Pid = idle(),
                       true = register(agent_tests_idle, Pid),
                       ?assertEqual({ok, Pid}, ask(A, {whereis, agent_tests_idle})),
                       ?assertEqual({error, not_found}, ask(A, {whereis, agent_tests_nobody})),
                       kill_and_wait(Pid)
               end).

process_info_test() ->
    with_agent(fun(A) ->
                       Pid = idle(),
                       [Pid ! {noise, N} || N <- [1, 2, 3]],
                       {ok, {Memory, Reductions, Len}} = ask(A, {process_info, Pid}),
                       ?assert(is_integer(Memory) andalso Memory > 0),
                       ?assert(is_integer(Reductions)),
                       ?assertEqual(3, Len),
                       kill_and_wait(Pid),
                       ?assertEqual({error, not_alive}, ask(A, {process_info, Pid})),
                       ?assertEqual({error, not_alive}, ask(A, {process_info, agent_tests_nobody}))
               end).

parse_term_test() ->
    with_agent(fun(A) ->
                       ?assertEqual({ok, {a, [1, 2], "s", #{k => <<"v">>}}},
                                    ask(A, {parse_term, <<"{a, [1, 2], \"s\", #{k => <<\"v\">>}}.">>})),
                       ?assertEqual({ok, [x, 1.5]}, ask(A, {parse_term, <<"[x, 1.5]">>})),
                       ?assertEqual({ok, <<"héllo"/utf8>>},
                                    ask(A, {parse_term, <<"<<\"héllo\"/utf8>>"/utf8>>})),
                       [?assertMatch({error, {parse, Text}} when is_binary(Text) andalso Text =/= <<>>,
                                     ask(A, {parse_term, Bad}))
                        || Bad <- [<<"{a,">>, <<"X">>, <<"1. 2.">>, <<"\"open">>, <<255>>, <<>>]]
               end).

bad_request_test() ->
    with_agent(fun(A) ->
                       Bad = [hello, {whereis, "name"}, {tree, 42, 100}, {tree, sup, -1},
                              {children, sup, infinity}, {kill, 1, kill},
                              {trace, self(), calls, 10, 100}, {trace, self(), messages, 0, 100},
                              {parse_term, "text"}, {partition, "node", 10}, {top_supervisor, "app"},
                              {ping}, stop_now],
                       [?assertEqual({error, {bad_request, Req}}, ask(A, Req)) || Req <- Bad],
                       %% Messages that are no request are dropped.
                       A ! {st, only_two},
                       A ! {'EXIT', self(), normal},
                       A ! anything,
                       ?assertEqual(pong, ask(A, ping))
               end).

own_processes_are_refused_test() ->
    with_agent(fun(A) ->
                       ?assertEqual({error, {refused, A}}, ask(A, {kill, A, kill})),
                       ?assertEqual({error, {refused, A}}, ask(A, {trace, A, messages, 1, 100})),
                       ?assertEqual(pong, ask(A, ping))
               end).

%% ------------------------------------------------------------ top_supervisor

top_supervisor_test() ->
    App = agent_fixture_app,
    Spec = {application, App,
            [{description, "supertester_agent_tests fixture"}, {vsn, "1"},
             {modules, [agent_fixture_sup, agent_fixture_server]},
             {registered, [agent_fixture_top]}, {applications, [kernel, stdlib]},
             {mod, {agent_fixture_sup, #{strategy => one_for_one, children => [worker(a)]}}}]},
    ok = application:load(Spec),
    ok = application:start(App),
    try
        with_agent(fun(A) ->
                           ?assertEqual({ok, whereis(agent_fixture_top)}, ask(A, {top_supervisor, App})),
                           ?assertEqual({ok, whereis(kernel_sup)}, ask(A, {top_supervisor, kernel})),
                           %% A library application has no supervisor.
                           ?assertEqual({error, {no_application, stdlib}}, ask(A, {top_supervisor, stdlib})),
                           ?assertEqual({error, {no_application, agent_tests_no_app}},
                                        ask(A, {top_supervisor, agent_tests_no_app}))
                   end)
    after
        ok = application:stop(App),
        ok = application:unload(App)
    end.

%% ------------------------------------------------------------ tree and children

tree_test() ->
    Low = #{strategy => simple_one_for_one, children => [worker(w, transient)]},
    Mid = #{strategy => rest_for_one, intensity => 2, period => 3,
            children => [worker(x, transient), worker(y, temporary), agent_fixture_sup:sup(low, Low)]},
    Top = #{strategy => one_for_all, intensity => 7, period => 11,
            children => [worker(a), agent_fixture_sup:sup(mid, Mid)]},
    Sup = agent_fixture_sup:start_sup(agent_tests_top, Top),
    try
        MidPid = child_pid(Sup, mid),
        LowPid = child_pid(MidPid, low),
        {ok, W1} = supervisor:start_child(LowPid, []),
        {ok, W2} = supervisor:start_child(LowPid, []),
        [First, Second] = lists:sort([W1, W2]),
        Expected =
            {supervisor, agent_tests_top, Sup, one_for_all, 7, 11,
             [{a, child_pid(Sup, a), worker, permanent, none},
              {mid, MidPid, supervisor, permanent,
               {supervisor, undefined, MidPid, rest_for_one, 2, 3,
                [{x, child_pid(MidPid, x), worker, transient, none},
                 {y, child_pid(MidPid, y), worker, temporary, none},
                 {low, LowPid, supervisor, permanent,
                  {supervisor, undefined, LowPid, simple_one_for_one, 3, 5,
                   [{undefined, First, worker, transient, none},
                    {undefined, Second, worker, transient, none}]}}]}}]},
        with_agent(fun(A) ->
                           ?assertEqual({ok, Expected}, ask(A, {tree, agent_tests_top, 5000})),
                           ?assertEqual({ok, Expected}, ask(A, {tree, Sup, 5000})),
                           ?assertEqual({error, not_alive}, ask(A, {tree, agent_tests_nobody, 5000})),
                           ?assertEqual({error, timeout}, ask(A, {tree, Sup, 0}))
                   end)
    after
        stop_sup(Sup)
    end.

%% A supervisor that does not answer holds its request up to its timeout,
%% and the session answers others meanwhile.
slow_supervisor_test() ->
    with_sup(three(one_for_one),
             fun(Sup) ->
                     with_agent(fun(A) ->
                                        ok = sys:suspend(Sup),
                                        Tree = send_request(A, {tree, Sup, 300}),
                                        Children = send_request(A, {children, Sup, 300}),
                                        ?assertEqual(pong, ask(A, ping)),
                                        ?assertEqual({error, timeout}, reply(Tree)),
                                        ?assertEqual({error, timeout}, reply(Children)),
                                        ok = sys:resume(Sup),
                                        ?assertMatch({ok, [_, _, _]}, ask(A, {children, Sup, 1000}))
                                end)
             end).

children_test() ->
    Args = #{strategy => one_for_one,
             children => [worker(a), worker(t, transient), worker(tmp, temporary),
                          agent_fixture_sup:sup(s, #{strategy => one_for_all})]},
    with_sup(Args,
             fun(Sup) ->
                     ok = gen_server:call(child_pid(Sup, t), stop_normal),
                     with_agent(fun(A) ->
                                        ?assertEqual({ok, [{a, child_pid(Sup, a), worker, permanent},
                                                           {t, undefined, worker, transient},
                                                           {tmp, child_pid(Sup, tmp), worker, temporary},
                                                           {s, child_pid(Sup, s), supervisor, permanent}]},
                                                     ask(A, {children, Sup, 5000})),
                                        Idle = idle(),
                                        ?assertEqual({error, timeout}, ask(A, {children, Idle, 100})),
                                        kill_and_wait(Idle)
                                end)
             end).

%% ------------------------------------------------------------ kill_child

kill_child_test_() ->
    Cases = [{one_for_one, b, [b], [b]},
             {one_for_all, b, [a, b, c], [a, b, c]},
             {one_for_all, c, [a, b, c], [a, b, c]},
             {rest_for_one, a, [a, b, c], [a, b, c]},
             {rest_for_one, b, [b, c], [b, c]},
             {rest_for_one, c, [c], [c]}],
    [{atom_to_list(Strategy) ++ " " ++ atom_to_list(Id),
      fun() -> kill_child(Strategy, Id, Restarted, Expected) end}
     || {Strategy, Id, Restarted, Expected} <- Cases].

kill_child(Strategy, Id, Restarted, Expected) ->
    with_sup(three(Strategy),
             fun(Sup) ->
                     Before = agent_fixture_sup:children(Sup),
                     Victim = child_pid(Sup, Id),
                     with_agent(fun(A) ->
                                        {ok, Report} = ask(A, {kill_child, Sup, Id, 5000}),
                                        After = agent_fixture_sup:children(Sup),
                                        ?assertMatch({kill_report, Id, Victim, Strategy, Before, After,
                                                      Restarted, Expected, Us}
                                                       when is_integer(Us) andalso Us >= 0, Report),
                                        ?assertNot(is_process_alive(Victim)),
                                        %% The supervisor is not left traced.
                                        ?assertEqual({flags, []}, erlang:trace_info(Sup, flags))
                                end)
             end).

%% wait_restart sees a restart someone else causes once it is armed, and
%% times out when nobody does.
wait_restart_test() ->
    Args = #{strategy => rest_for_one, children => [worker(a), worker(b)]},
    with_sup(Args,
             fun(Sup) ->
                     with_agent(fun(A) ->
                                        Old = child_pid(Sup, a),
                                        Ref = send_request(A, {wait_restart, Sup, a, 5000}),
                                        receive {st_event, Ref, armed} -> ok end,
                                        exit(Old, kill),
                                        {ok, {restarted, a, Old, New, Us}} = reply(Ref),
                                        ?assertEqual(New, child_pid(Sup, a)),
                                        ?assert(New =/= Old andalso Us >= 0),
                                        Ref2 = send_request(A, {wait_restart, Sup, a, 50}),
                                        receive {st_event, Ref2, armed} -> ok end,
                                        ?assertEqual({error, timeout}, reply(Ref2)),
                                        ?assertEqual({error, {no_child, zz}},
                                                     ask(A, {wait_restart, Sup, zz, 50})),
                                        ?assertEqual({flags, []}, erlang:trace_info(Sup, flags)),
                                        %% Every event was taken: none is left.
                                        ?assertEqual({messages, []},
                                                     erlang:process_info(self(), messages))
                                end)
             end).

%% Temporary children are never expected back: one_for_all ends them with
%% the others and does not restart them.
kill_child_temporary_test() ->
    Args = #{strategy => one_for_all, intensity => 10,
             children => [worker(a), worker(tmp, temporary), worker(c)]},
    with_sup(Args,
             fun(Sup) ->
                     with_agent(fun(A) ->
                                        {ok, Report} = ask(A, {kill_child, Sup, a, 5000}),
                                        {kill_report, a, _, one_for_all, Before, After,
                                         Restarted, Expected, _} = Report,
                                        ?assertEqual([a, tmp, c], [I || {I, _} <- Before]),
                                        ?assertEqual([a, c], [I || {I, _} <- After]),
                                        ?assertEqual([a, c], Restarted),
                                        ?assertEqual([a, c], Expected)
                                end)
             end),
    Args2 = #{strategy => one_for_one, children => [worker(a), worker(tmp, temporary)]},
    with_sup(Args2,
             fun(Sup) ->
                     with_agent(fun(A) ->
                                        {ok, Report} = ask(A, {kill_child, Sup, tmp, 5000}),
                                        ?assertMatch({kill_report, tmp, _, one_for_one, [_, _],
                                                      [{a, _}], [], [], _}, Report)
                                end)
             end).

kill_child_simple_one_for_one_test() ->
    Args = #{strategy => simple_one_for_one, intensity => 10, children => [worker(w)]},
    with_sup(Args,
             fun(Sup) ->
                     {ok, W1} = supervisor:start_child(Sup, []),
                     {ok, W2} = supervisor:start_child(Sup, []),
                     with_agent(fun(A) ->
                                        {ok, Report} = ask(A, {kill_child, Sup, W1, 5000}),
                                        {kill_report, W1, W1, simple_one_for_one, Before, After,
                                         Restarted, Expected, _} = Report,
                                        ?assertEqual(lists:sort([{undefined, W1}, {undefined, W2}]), Before),
                                        ?assertEqual(2, length(After)),
                                        ?assert(lists:member({undefined, W2}, After)),
                                        ?assertNot(lists:member({undefined, W1}, After)),
                                        ?assertEqual([W1], Restarted),
                                        ?assertEqual([W1], Expected),
                                        ?assertEqual({error, {no_child, undefined}},
                                                     ask(A, {kill_child, Sup, undefined, 5000}))
                                end)
             end).

kill_child_errors_test() ->
    Args = #{strategy => one_for_one, children => [worker(a), worker(t, transient)]},
    with_sup(Args,
             fun(Sup) ->
                     ok = gen_server:call(child_pid(Sup, t), stop_normal),
                     with_agent(fun(A) ->
                                        ?assertEqual({error, {no_child, zz}}, ask(A, {kill_child, Sup, zz, 5000})),
                                        ?assertEqual({error, {not_running, t}}, ask(A, {kill_child, Sup, t, 5000})),
                                        %% Someone else traces the supervisor: its events are not taken.
                                        Tracer = spawn(fun() ->
                                                               erlang:trace(Sup, true, ['receive']),
                                                               receive stop -> ok end
                                                       end),
                                        wait_traced(Sup),
                                        A0 = child_pid(Sup, a),
                                        ?assertEqual({error, {already_traced, Sup}},
                                                     ask(A, {kill_child, Sup, a, 5000})),
                                        ?assertEqual(A0, child_pid(Sup, a)),
                                        ?assertEqual({tracer, Tracer}, erlang:trace_info(Sup, tracer)),
                                        kill_and_wait(Tracer),
                                        ?assertEqual({error, not_alive}, ask(A, {kill_child, agent_tests_nobody, a, 5000}))
                                end)
             end).

%% A supervisor that gives up on the restart dies with the request.
kill_child_supervisor_died_test() ->
    Sup = start_sup(#{strategy => one_for_one, intensity => 0, children => [worker(a)]}),
    with_agent(fun(A) ->
                       ?assertEqual({error, supervisor_died}, ask(A, {kill_child, Sup, a, 5000})),
                       ?assertNot(is_process_alive(Sup))
               end).

%% ------------------------------------------------------------ kill

kill_test() ->
    with_agent(fun(A) ->
                       P1 = idle(),
                       ?assertEqual({ok, P1}, ask(A, {kill, P1, kill})),
                       ?assertNot(is_process_alive(P1)),
                       P2 = idle(),
                       true = register(agent_tests_victim, P2),
                       ?assertEqual({ok, P2}, ask(A, {kill, agent_tests_victim, shutdown})),
                       ?assertNot(is_process_alive(P2)),
                       ?assertEqual({error, not_alive}, ask(A, {kill, P1, kill})),
                       ?assertEqual({error, not_alive}, ask(A, {kill, agent_tests_victim, kill}))
               end).

%% ------------------------------------------------------------ trace

trace_messages_test() ->
    with_sup(#{strategy => one_for_one, children => [worker(a)]},
             fun(Sup) ->
                     Target = child_pid(Sup, a),
                     with_agent(fun(A) -> trace_messages(A, Target) end)
             end).

trace_messages(A, Target) ->
    Ref = send_request(A, {trace, Target, messages, 4, 10000}),
    wait_traced(Target),
    pong = gen_server:call(Target, ping),
    gen_server:cast(Target, {send, self(), hello}),
    receive hello -> ok end,
    {Events, Reply} = collect(Ref),
    ?assertEqual({ok, {trace_done, 4, 0, max_events}}, Reply),
    [{U1, 'receive', <<"undefined">>, Call}, {U2, send, To, _PongReply},
     {U3, 'receive', <<"undefined">>, Cast}, {U4, send, Me, <<"hello">>}] = Events,
    ?assert(0 =< U1 andalso U1 =< U2 andalso U2 =< U3 andalso U3 =< U4),
    ?assertMatch(<<"{'$gen_call',", _/binary>>, Call),
    ?assert(is_binary(To)),
    ?assertEqual(text({'$gen_cast', {send, self(), hello}}), Cast),
    ?assertEqual(text(self()), Me),
    ?assertEqual({flags, []}, erlang:trace_info(Target, flags)),
    ?assertEqual({tracer, []}, erlang:trace_info(Target, tracer)).

trace_duration_test() ->
    with_agent(fun(A) ->
                       Pid = idle(),
                       ?assertEqual({[], {ok, {trace_done, 0, 0, duration}}},
                                    collect(send_request(A, {trace, Pid, messages, 10, 100}))),
                       ?assertEqual({flags, []}, erlang:trace_info(Pid, flags)),
                       kill_and_wait(Pid)
               end).

trace_target_down_test() ->
    with_agent(fun(A) ->
                       Pid = idle(),
                       Ref = send_request(A, {trace, Pid, messages, 10, 10000}),
                       wait_traced(Pid),
                       Pid ! stop,
                       ?assertMatch({[{_, 'receive', _, <<"stop">>}], {ok, {trace_done, 1, 0, target_down}}},
                                    collect(Ref))
               end).

%% The session's max_trace_events caps what a request asks for.
trace_max_events_cap_test() ->
    with_agent(#{max_trace_events => 2},
               fun(A) ->
                       Pid = idle(),
                       Ref = send_request(A, {trace, Pid, messages, 100, 10000}),
                       wait_traced(Pid),
                       [Pid ! {poke, N} || N <- [1, 2, 3]],
                       {Events, {ok, {trace_done, 2, Dropped, max_events}}} = collect(Ref),
                       ?assertEqual([<<"{poke,1}">>, <<"{poke,2}">>], [M || {_, _, _, M} <- Events]),
                       ?assert(Dropped =< 1),
                       kill_and_wait(Pid)
               end).

%% A target that sends itself messages as fast as it can outruns the
%% worker, whose mailbox soon holds more than max_backlog messages.
trace_backlog_test() ->
    with_agent(#{max_backlog => 10},
               fun(A) ->
                       Flood = spawn(fun flood/0),
                       Ref = send_request(A, {trace, Flood, messages, 1000000, 10000}),
                       {Events, Reply} = collect(Ref),
                       ?assertEqual({flags, []}, erlang:trace_info(Flood, flags)),
                       kill_and_wait(Flood),
                       ?assertMatch({ok, {trace_done, _, _, backlog}}, Reply),
                       {ok, {trace_done, Count, Dropped, backlog}} = Reply,
                       ?assertEqual(Count, length(Events)),
                       ?assert(Dropped > 10)
               end).

flood() ->
    self() ! more,
    receive more -> flood() end.

trace_already_traced_test() ->
    with_agent(fun(A) ->
                       Pid = idle(),
                       Tracer = spawn(fun() ->
                                              erlang:trace(Pid, true, [send]),
                                              receive stop -> ok end
                                      end),
                       wait_traced(Pid),
                       ?assertEqual({error, {already_traced, Pid}},
                                    ask(A, {trace, Pid, messages, 10, 1000})),
                       ?assertEqual({tracer, Tracer}, erlang:trace_info(Pid, tracer)),
                       ?assertEqual({flags, [send]}, erlang:trace_info(Pid, flags)),
                       kill_and_wait(Tracer),
                       kill_and_wait(Pid)
               end).

trace_supervision_test() ->
    with_sup(#{strategy => one_for_one, children => [worker(a), worker(b)]},
             fun(Sup) ->
                     with_agent(fun(A) ->
                                        Old = child_pid(Sup, b),
                                        Ref = send_request(A, {trace, Sup, supervision, 2, 10000}),
                                        wait_traced(Sup),
                                        exit(Old, kill),
                                        {Events, Reply} = collect(Ref),
                                        ?assertMatch({ok, {trace_done, 2, 0, max_events}}, Reply),
                                        New = child_pid(Sup, b),
                                        ?assertMatch([{_, child_exit, _, <<"killed">>},
                                                      {_, child_started, _, <<"{agent_fixture_server,init,1}">>}],
                                                     Events),
                                        [{_, _, OldText, _}, {_, _, NewText, _}] = Events,
                                        ?assertEqual({text(Old), text(New)}, {OldText, NewText}),
                                        ?assertEqual({flags, []}, erlang:trace_info(Sup, flags)),
                                        Plain = idle(),
                                        ?assertEqual({error, {not_a_supervisor, Plain}},
                                                     ask(A, {trace, Plain, supervision, 2, 100})),
                                        ?assertEqual({flags, []}, erlang:trace_info(Plain, flags)),
                                        kill_and_wait(Plain)
                                end)
             end).

%% ------------------------------------------------------------ cleanup

%% `stop' answers what still runs, kills the workers, removes their trace
%% flags and deletes the module (the C-node purges it).
stop_cleanup_test() ->
    with_sup(three(one_for_one),
             fun(Sup) ->
                     Target = idle(),
                     A = agent(),
                     Trace = send_request(A, {trace, Target, messages, 100, 60000}),
                     Worker = wait_traced(Target),
                     ok = sys:suspend(Sup),
                     Tree = send_request(A, {tree, Sup, 60000}),
                     ?assertEqual(pong, ask(A, ping)),
                     {links, Workers} = erlang:process_info(A, links),
                     ?assertEqual(2, length(Workers)),
                     ?assert(lists:member(Worker, Workers)),
                     Mons = [erlang:monitor(process, P) || P <- [A | Workers]],
                     Stop = send_request(A, stop),
                     ?assertEqual({error, stopped}, reply(Trace)),
                     ?assertEqual({error, stopped}, reply(Tree)),
                     ?assertEqual(ok, reply(Stop)),
                     [receive {'DOWN', M, process, _, _} -> ok end || M <- Mons],
                     ok = sys:resume(Sup),
                     ?assertEqual({flags, []}, erlang:trace_info(Target, flags)),
                     ?assertEqual({tracer, []}, erlang:trace_info(Target, tracer)),
                     ?assertEqual(false, code:is_loaded(?AGENT)),
                     _ = code:purge(?AGENT),
                     ?assertNot(erlang:check_old_code(?AGENT)),
                     kill_and_wait(Target)
             end).

%% The module stays while another session runs.
last_session_unloads_test() ->
    A1 = agent(),
    A2 = agent(),
    M1 = erlang:monitor(process, A1),
    ?assertEqual(ok, ask(A1, stop)),
    receive {'DOWN', M1, process, A1, _} -> ok end,
    ?assertMatch({file, _}, code:is_loaded(?AGENT)),
    ?assertEqual(pong, ask(A2, ping)),
    stop_agent(A2),
    ?assertEqual(false, code:is_loaded(?AGENT)).

%% When the owner dies the session cleans up as on `stop', and purges the
%% module itself: nothing will follow.
owner_death_test() ->
    Test = self(),
    Target = idle(),
    Owner = spawn(fun() ->
                          {ok, Agent} = ?AGENT:start(self(), #{}),
                          Test ! {agent, Agent},
                          receive never -> ok end
                  end),
    A = receive {agent, Agent} -> Agent end,
    1 = erlang:trace(A, true, [procs]),
    _ = send_request(A, {trace, Target, messages, 100, 60000}),
    Worker = wait_traced(Target),
    Mons = [erlang:monitor(process, P) || P <- [A, Worker]],
    exit(Owner, kill),
    [receive {'DOWN', M, process, _, _} -> ok end || M <- Mons],
    ?assertEqual({flags, []}, erlang:trace_info(Target, flags)),
    ?assertEqual({tracer, []}, erlang:trace_info(Target, tracer)),
    await_own_purge(A),
    kill_and_wait(Target).

%% An exit signal sent to the session ends it as its owner's loss does.
exit_signal_test() ->
    Target = idle(),
    A = agent(),
    1 = erlang:trace(A, true, [procs]),
    Trace = send_request(A, {trace, Target, messages, 100, 60000}),
    Worker = wait_traced(Target),
    Mons = [erlang:monitor(process, P) || P <- [A, Worker]],
    exit(A, shutdown),
    [receive {'DOWN', M, process, _, _} -> ok end || M <- Mons],
    ?assertEqual({flags, []}, erlang:trace_info(Target, flags)),
    await_own_purge(A),
    ?assertEqual({error, stopped}, reply(Trace)),
    kill_and_wait(Target).

%% A session ending without `stop' purges the module from a process it
%% spawns (seen by tracing the session's spawns); the test waits for it.
await_own_purge(Agent) ->
    Purger = receive {trace, Agent, spawn, P, {code, purge, [?AGENT]}} -> P
             after 5000 -> error(no_purge)
             end,
    wait_down(Purger),
    ?assertEqual(false, code:is_loaded(?AGENT)),
    ?assertNot(erlang:check_old_code(?AGENT)),
    ?assertEqual([], sessions()),
    flush_trace(Agent).

flush_trace(Pid) ->
    receive
        Msg when element(1, Msg) =:= trace, element(2, Msg) =:= Pid -> flush_trace(Pid)
    after 0 -> ok
    end.

%% ------------------------------------------------------------ partition

not_distributed_test() ->
    case is_alive() of
        true -> ok;
        false -> with_agent(fun(A) ->
                                    ?assertEqual({error, not_distributed},
                                                 ask(A, {partition, 'nobody@nohost', 10}))
                            end)
    end.

%% Two peer nodes, started from this VM (made distributed for the
%% purpose): a partition between them, driven by an agent on the first
%% with its owner here, as a C-node would drive it; the owner's node going
%% down; and a partition between this VM and a peer, stopped midway.
partition_test_() ->
    {setup, fun start_peers/0, fun stop_peers/1,
     fun(Ctx) ->
             {inorder,
              [{"partition between two peers", {timeout, 30, ?_test(peer_partition(Ctx))}},
               {"Elixir DynamicSupervisor", {timeout, 30, ?_test(elixir_dynamic_supervisor(Ctx))}},
               {"remote owner's node down", {timeout, 30, ?_test(remote_owner_down(Ctx))}},
               {"partition stopped midway", {timeout, 30, ?_test(stopped_partition(Ctx))}}]}
     end}.

start_peers() ->
    Started = ensure_distributed(),
    Cookie = atom_to_list(erlang:get_cookie()),
    Args = ["-setcookie", Cookie, "-kernel", "prevent_overlapping_partitions", "false",
            "-kernel", "logger_level", "critical"],
    Peers = [begin
                 {ok, Peer, Node} = peer:start_link(#{name => peer:random_name(agent_tests),
                                                      connection => standard_io, args => Args}),
                 true = net_kernel:connect_node(Node),
                 {Peer, Node}
             end || _ <- [1, 2]],
    [{P1, _}, {_, N2}] = Peers,
    true = peer:call(P1, net_kernel, connect_node, [N2]),
    #{started => Started, peers => Peers}.

ensure_distributed() ->
    case is_alive() of
        true -> false;
        false ->
            _ = os:cmd("epmd -daemon"),
            Name = list_to_atom("agent_tests_" ++ os:getpid()),
            {ok, _} = net_kernel:start([Name, shortnames]),
            true
    end.

stop_peers(#{started := Started, peers := Peers}) ->
    [catch peer:stop(Peer) || {Peer, _} <- Peers],
    case Started of
        true -> ok = net_kernel:stop();
        false -> ok
    end.

%% Loads the agent onto a peer as the C-node does: from the beam's bytes.
remote_agent(Peer, Owner) ->
    {?AGENT, Beam, _} = code:get_object_code(?AGENT),
    {module, ?AGENT} = peer:call(Peer, code, load_binary, [?AGENT, "supertester_agent.beam", Beam]),
    {ok, Agent} = peer:call(Peer, ?AGENT, start, [Owner, #{}]),
    Agent.

peer_partition(#{peers := [{P1, N1}, {_, N2}]}) ->
    A = remote_agent(P1, self()),
    Cookie = peer:call(P1, erlang, get_cookie, [N2]),
    ?assertEqual({error, {refused, node()}}, ask(A, {partition, node(), 10})),
    ?assertEqual({error, {refused, N1}}, ask(A, {partition, N1, 10})),
    ?assertEqual({error, {not_connected, 'nobody@nohost'}}, ask(A, {partition, 'nobody@nohost', 10})),
    {ok, {partition_done, DownUs, ReconnectUs}} = ask(A, {partition, N2, 300}),
    ?assert(DownUs >= 300000),
    ?assert(ReconnectUs > 0 andalso ReconnectUs =< DownUs),
    ?assert(lists:member(N2, peer:call(P1, erlang, nodes, []))),
    ?assertEqual(Cookie, peer:call(P1, erlang, get_cookie, [N2])),
    stop_remote_agent(P1, A).

%% As the C-node detaches: stop, then purge over rpc.
stop_remote_agent(Peer, Agent) ->
    Mon = erlang:monitor(process, Agent),
    ?assertEqual(ok, ask(Agent, stop)),
    receive {'DOWN', Mon, process, Agent, _} -> ok end,
    ?assertEqual(false, peer:call(Peer, code, is_loaded, [?AGENT])),
    _ = peer:call(Peer, code, purge, [?AGENT]),
    ?assertNot(peer:call(Peer, erlang, check_old_code, [?AGENT])).

%% Elixir's DynamicSupervisor keeps its children in a map and has no ids
%% for them; it runs on a peer, with Elixir on that node's code path only.
elixir_dynamic_supervisor(#{peers := [{P1, _} | _]}) ->
    case [Dir || Dir <- ["/usr/lib/elixir/lib/elixir/ebin", "/usr/local/lib/elixir/lib/elixir/ebin"],
                 filelib:is_regular(filename:join(Dir, "Elixir.DynamicSupervisor.beam"))] of
        [] -> ?debugMsg("Elixir not found: DynamicSupervisor not tested");
        [Ebin | _] -> dynamic_supervisor(P1, Ebin)
    end.

dynamic_supervisor(Peer, Ebin) ->
    true = peer:call(Peer, code, add_patha, [Ebin]),
    DS = 'Elixir.DynamicSupervisor',
    %% What DynamicSupervisor.start_link/1 does, unlinked.
    {ok, Sup} = peer:call(Peer, gen_server, start, [DS, {DS, [{strategy, one_for_one}, {max_restarts, 4}], nil}, []]),
    Spec = fun(Restart) -> #{id => x, start => {'Elixir.Agent', start_link, [erlang, self, []]},
                             restart => Restart} end,
    {ok, Permanent} = peer:call(Peer, DS, start_child, [Sup, Spec(permanent)]),
    {ok, Temporary} = peer:call(Peer, DS, start_child, [Sup, Spec(temporary)]),
    Children = [{undefined, Pid, worker, R} || {Pid, R} <- lists:sort([{Permanent, permanent},
                                                                        {Temporary, temporary}])],
    A = remote_agent(Peer, self()),
    ?assertEqual({ok, Children}, ask(A, {children, Sup, 5000})),
    ?assertEqual({ok, {supervisor, undefined, Sup, one_for_one, 4, 5,
                       [erlang:append_element(C, none) || C <- Children]}},
                 ask(A, {tree, Sup, 5000})),
    ?assertMatch({ok, {kill_report, Permanent, Permanent, one_for_one, [_, _], [_, _],
                       [Permanent], [Permanent], _}},
                 ask(A, {kill_child, Sup, Permanent, 5000})),
    ?assertMatch({ok, {kill_report, Temporary, Temporary, one_for_one, [_, _], [{undefined, _}],
                       [], [], _}},
                 ask(A, {kill_child, Sup, Temporary, 5000})),
    ?assertEqual({error, {no_child, x}}, ask(A, {kill_child, Sup, x, 5000})),
    stop_remote_agent(Peer, A),
    ok = peer:call(Peer, gen_server, stop, [Sup]).

%% The owner is a process on the second peer; when that node goes down the
%% session on the first ends and takes the module with it.
remote_owner_down(#{peers := [{P1, _}, {P2, N2}]}) ->
    Owner = peer:call(P2, erlang, whereis, [rex]),
    A = remote_agent(P1, Owner),
    true = peer:call(P1, net_kernel, connect_node, [N2]),
    Mon = erlang:monitor(process, A),
    peer:stop(P2),
    receive {'DOWN', Mon, process, A, Reason} -> ?assertNotEqual(noconnection, Reason) end,
    ?assertEqual(false, peer:call(P1, code, is_loaded, [?AGENT])).

%% A partition stopped midway: the session restores the cookie and the
%% nodes can connect again at once.
stopped_partition(#{peers := [{_, N1} | _]}) ->
    A = agent(),
    Cookie = erlang:get_cookie(N1),
    ok = net_kernel:monitor_nodes(true),
    try
        Ref = send_request(A, {partition, N1, 20000}),
        receive {nodedown, N1} -> ok end,
        ?assertEqual(pang, net_adm:ping(N1)),
        ?assertNotEqual(Cookie, erlang:get_cookie(N1)),
        ?assertEqual({error, {already_partitioned, N1}}, ask(A, {partition, N1, 10})),
        stop_agent(A),
        ?assertEqual({error, stopped}, reply(Ref)),
        ?assertEqual(Cookie, erlang:get_cookie(N1)),
        ?assert(net_kernel:connect_node(N1))
    after
        net_kernel:monitor_nodes(false)
    end.
