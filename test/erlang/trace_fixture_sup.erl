%% A supervisor for the trace, supervision and crash suites, configured by
%% its init argument:
%%   #{strategy => Strategy, intensity => N, period => S,
%%     children => [ChildSpec]}
%% with intensity 3 and period 5 by default. child/2 builds the spec of a
%% trace_fixture_server child, sup_child/2 that of a nested supervisor.
%%
%% The tests kill children on purpose: the supervisor reports of these
%% supervisors (and only of these) are kept off the console by a logger
%% filter that drops what they log.
-module(trace_fixture_sup).
-behaviour(supervisor).

-export([child/2, child/3, sup_child/2]).
%% Helpers of the suites that use this supervisor.
-export([start_sup/1, stop_sup/1, with_sup/2, children/1]).
-export([init/1, log_filter/2]).

%% A trace_fixture_server child with the server options Opts (see
%% trace_fixture_server), permanent.
child(Id, Opts) -> child(Id, Opts, permanent).

child(Id, Opts, Restart) ->
    #{id => Id, start => {trace_fixture_server, start_link, [Opts]},
      restart => Restart, modules => [trace_fixture_server]}.

%% A nested trace_fixture_sup child with the init argument Args.
sup_child(Id, Args) ->
    #{id => Id, start => {supervisor, start_link, [?MODULE, Args]},
      type => supervisor, modules => [?MODULE]}.

%% Starts one, not linked to the caller (a test may make it die).
start_sup(Args) ->
    {ok, Sup} = supervisor:start_link(?MODULE, Args),
    true = unlink(Sup),
    Sup.

%% Stops the supervisor (and so its children) if it still runs, and waits
%% until it is gone.
stop_sup(Sup) ->
    Mon = erlang:monitor(process, Sup),
    catch gen_server:stop(Sup, shutdown, 5000),
    receive {'DOWN', Mon, process, Sup, _} -> ok end.

with_sup(Args, Test) ->
    Sup = start_sup(Args),
    try Test(Sup)
    after stop_sup(Sup)
    end.

%% Children in start order: [{Id, Pid}].
children(Sup) ->
    [{Id, Pid} || {Id, Pid, _, _} <- lists:reverse(supervisor:which_children(Sup))].

init(#{strategy := Strategy} = Args) ->
    _ = logger:add_primary_filter(?MODULE, {fun ?MODULE:log_filter/2, []}),
    {ok, {#{strategy => Strategy,
            intensity => maps:get(intensity, Args, 3),
            period => maps:get(period, Args, 5)},
          maps:get(children, Args, [])}}.

%% Runs in the process that logs: drops the events of this module's
%% supervisors.
log_filter(Event, _) ->
    case get('$initial_call') of
        {supervisor, ?MODULE, 1} -> stop;
        _ -> Event
    end.
