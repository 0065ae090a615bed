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
