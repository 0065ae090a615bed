%% The NIF must never crash or hang the VM, whatever it is given, and must
%% survive being reloaded in a running VM. Both run in a peer node, so a
%% crash shows as a failed test naming the peer rather than a dead suite.
%%
%% Debian's erlang-proper ships without proper.hrl, so the property is
%% written with PropEr's functions instead of its macros.
-module(supertester_nif_tests).

-include_lib("eunit/include/eunit.hrl").

%% Run inside the peer node.
-export([fuzz/1, reload_cycle/0]).

-define(FUZZ_CASES, 20000).

with_peer(Fun) ->
    Paths = lists:usort([filename:dirname(code:which(M))
                         || M <- [supertester_nif, ?MODULE, proper]]),
    {ok, Peer, _Node} = peer:start_link(#{connection => standard_io,
                                          args => lists:append([["-pa", P] || P <- Paths])}),
    try
        Fun(Peer)
    after
        catch peer:stop(Peer)
    end.

random_terms_never_crash_the_vm_test_() ->
    {timeout, 300,
     fun() ->
             with_peer(fun(Peer) ->
                               ?assertEqual(true, peer:call(Peer, ?MODULE, fuzz, [?FUZZ_CASES], 280000)),
                               %% Still alive and still working afterwards.
                               ?assertEqual(ok, peer:call(Peer, erlang, apply,
                                                          [fun() ->
                                                                   {ok, H} = supertester_hist:new(),
                                                                   supertester_hist:record(H, 1)
                                                           end, []]))
                       end)
     end}.

reload_keeps_histograms_working_test_() ->
    {timeout, 60,
     fun() ->
             with_peer(fun(Peer) ->
                               ?assertEqual(#{before_reload => 1, after_reload => 2,
                                              after_purge => 3, fresh_after_delete => 1},
                                            peer:call(Peer, ?MODULE, reload_cycle, []))
                       end)
     end}.

%% Calls random NIFs with random arguments. Every call must return, or raise
%% {badarg, _}: nothing else, and never a crash.
fuzz(Cases) ->
    {ok, Hist} = supertester_hist:new(),
    {ok, Sampler} = supertester_nif:sampler_new(16),
    {ok, Record} = supertester_nif:iso_record_new(),
    {ok, Snapshot} = supertester_nif:iso_snapshot(processes(), ets:all(), registered()),
    Session = supertester_nif:trace_session_new(self(), self(), trace_config()),
    Rng = supertester_nif:chaos_rng_new(1),
    Ddmin = supertester_nif:chaos_ddmin_new(8),
    Resources = [Hist, Sampler, Record, Snapshot, Session, Rng, Ddmin],
    Nifs = [{F, A} || {F, A} <- supertester_nif:module_info(exports),
                      not lists:member(F, [module_info, library_path])],
    Call = proper_types:bind(proper_types:elements(Nifs),
                             fun({F, A}) -> {F, proper_types:vector(A, argument(Resources))} end,
                             false),
    Prop = proper:forall(Call, fun({F, Args}) -> returns_or_badarg(F, Args) end),
    proper:quickcheck(Prop, [{numtests, Cases}, quiet, long_result]) =:= true.

returns_or_badarg(F, Args) ->
    try apply(supertester_nif, F, [materialize(A) || A <- Args]) of
        _ -> true
    catch
        error:{badarg, _} -> true;
        Class:Reason ->
            io:format(user, "~p~p raised ~p:~p~n", [F, Args, Class, Reason]),
            false
    end.

%% Mostly near misses: valid resources of every type, numbers at and beyond
%% each limit, the atoms the isolation NIFs take, lists with one bad
%% element, long lists that take the dirty path.
argument(Resources) ->
    proper_types:frequency(
      [{4, proper_types:any()},
       {4, proper_types:elements(Resources)},
       {4, proper_types:elements(edge_values())},
       {2, proper_types:list(proper_types:number())},
       {1, proper_types:list(proper_types:elements([1, 2.5, {1, 2}, {1, x}, x, -1]))},
       {1, proper_types:list(proper_types:tuple([proper_types:number(), proper_types:number()]))}]).

edge_values() ->
    [-1, 0, 1, 2, 5, 6, 100, 101, 65536, 65537, 1 bsl 62, (1 bsl 62) + 1,
     1 bsl 64, -(1 bsl 64), 1 bsl 200, 0.0, 0.5, 1.0, 1.0e308, -1.0e308,
     [], [1 | 2], <<>>, <<1, 2, 3>>, self(), make_ref(), fun() -> ok end,
     long_numbers, long_points,
     [50, 99, 99.9], [50, 101], [{1, 2}, {1, 2}],
     process, ets, cleanup, none, self_pid, {some_pool, 0}, fun() -> ok end,
     trace_config(), maps:remove(kinds, trace_config()), trace_config(#{capacity => 0}),
     trace_config(#{kinds => [bogus]}), trace_config(#{notify => undefined}),
     'receive', spawn, exit, trace_status, permanent, temporary,
     [{self(), permanent}], [{undefined, transient}, {self(), bogus}],
     [{0, 1, self(), spawn, self(), undefined}],
     [{0, 1, self(), 'receive', {'EXIT', self(), killed}, undefined}],
     [{0, 1, self(), 'receive', {'DOWN', make_ref(), process, self(), x}, undefined}],
     #{extra => self()}].

%% A valid trace session configuration, with some keys replaced.
trace_config() -> trace_config(#{}).

trace_config(Changes) ->
    maps:merge(#{kinds => ['receive', spawn], notify_kinds => ['receive'], notify => self(),
                 only => [], max_events => 100, max_rate => 0, max_payload => 64,
                 capacity => 16},
               Changes).

%% Long lists (past the dirty-scheduler threshold) stand as tokens while
%% PropEr generates and shrinks, which would otherwise copy them each time.
materialize(self_pid) -> self();
materialize(long_numbers) -> lists:seq(1, 30000);
materialize(long_points) -> [{X, X * 2} || X <- lists:seq(1, 30000)];
materialize(Term) -> Term.

%% A histogram made before a reload keeps working with the new code and
%% after the old code is purged; a fresh load after delete works too.
reload_cycle() ->
    {ok, H} = supertester_hist:new(),
    ok = supertester_hist:record(H, 1),
    Count = fun() -> maps:get(count, supertester_hist:summary(H)) end,
    Before = Count(),
    {supertester_nif, Beam, File} = code:get_object_code(supertester_nif),
    {module, supertester_nif} = code:load_binary(supertester_nif, File, Beam),
    ok = supertester_hist:record(H, 2),
    After = Count(),
    true = code:soft_purge(supertester_nif),
    ok = supertester_hist:record(H, 3),
    Purged = Count(),
    true = code:delete(supertester_nif),
    true = code:soft_purge(supertester_nif),
    {module, supertester_nif} = code:ensure_loaded(supertester_nif),
    {ok, Fresh} = supertester_hist:new(),
    ok = supertester_hist:record(Fresh, 1),
    #{before_reload => Before, after_reload => After, after_purge => Purged,
      fresh_after_delete => maps:get(count, supertester_hist:summary(Fresh))}.
