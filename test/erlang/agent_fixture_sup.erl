%% A supervisor (and the application callback around it) for the agent
%% suite, configured by its init argument:
%%   #{strategy => Strategy, intensity => N, period => S,
%%     children => [ChildSpec]}
%% with intensity 3 and period 5 by default. worker/2 builds the spec of an
%% agent_fixture_server child, sup/2 that of a nested supervisor.
%%
%% The suite kills children on purpose: what these supervisors log is kept
%% off the console by a logger filter.
-module(agent_fixture_sup).
-behaviour(supervisor).
-behaviour(application).

-export([worker/1, worker/2, sup/2]).
-export([start_sup/1, start_sup/2, stop_sup/1, children/1, child_pid/2]).
-export([init/1, start/2, stop/1, log_filter/2]).

worker(Id) -> worker(Id, permanent).

worker(Id, Restart) ->
    #{id => Id, start => {agent_fixture_server, start_link, []},
      restart => Restart, modules => [agent_fixture_server]}.

sup(Id, Args) ->
    #{id => Id, start => {supervisor, start_link, [?MODULE, Args]},
      type => supervisor, modules => [?MODULE]}.

%% Started unlinked from the caller (a test may make it die).
start_sup(Args) ->
    {ok, Sup} = supervisor:start_link(?MODULE, Args),
    true = unlink(Sup),
    Sup.

start_sup(Name, Args) ->
    {ok, Sup} = supervisor:start_link({local, Name}, ?MODULE, Args),
    true = unlink(Sup),
    Sup.

%% Stops it if it still runs, and returns once it is gone.
stop_sup(Sup) ->
    Mon = erlang:monitor(process, Sup),
    catch gen_server:stop(Sup, shutdown, 5000),
    receive {'DOWN', Mon, process, Sup, _} -> ok end.

%% [{Id, Pid}] in start order.
children(Sup) ->
    [{Id, Pid} || {Id, Pid, _, _} <- lists:reverse(supervisor:which_children(Sup))].

child_pid(Sup, Id) ->
    {Id, Pid} = lists:keyfind(Id, 1, children(Sup)),
    Pid.

init(#{strategy := Strategy} = Args) ->
    _ = logger:add_primary_filter(?MODULE, {fun ?MODULE:log_filter/2, []}),
    {ok, {#{strategy => Strategy,
            intensity => maps:get(intensity, Args, 3),
            period => maps:get(period, Args, 5)},
          maps:get(children, Args, [])}}.

%% The application callback: the top supervisor is registered as
%% agent_fixture_top.
start(_Type, Args) ->
    supervisor:start_link({local, agent_fixture_top}, ?MODULE, Args).

stop(_State) ->
    ok.

%% Runs in the process that logs: drops the events of this module's
%% supervisors, and the report of the fixture application's stop.
log_filter(#{msg := {report, #{label := {application_controller, exit}, report := Report}}} = Event, _)
  when is_list(Report) ->
    case lists:member({application, agent_fixture_app}, Report) of
        true -> stop;
        false -> Event
    end;
log_filter(Event, _) ->
    case get('$initial_call') of
        {supervisor, ?MODULE, 1} -> stop;
        _ -> Event
    end.
