%% A simple_one_for_one pool of three workers, started with it. Its children
%% have no ids of their own, as under Elixir's DynamicSupervisor: tools name
%% them by pid.
-module(factory_pool_sup).
-behaviour(supervisor).

-export([start_link/0, init/1]).

-define(WORKERS, 3).

start_link() ->
    case supervisor:start_link({local, ?MODULE}, ?MODULE, []) of
        {ok, Sup} -> start_workers(Sup, ?WORKERS);
        Error -> Error
    end.

start_workers(Sup, 0) ->
    {ok, Sup};
start_workers(Sup, N) ->
    case supervisor:start_child(Sup, []) of
        {ok, _Worker} -> start_workers(Sup, N - 1);
        Error -> Error
    end.

init([]) ->
    {ok, {#{strategy => simple_one_for_one, intensity => 50, period => 5},
          [#{id => worker, start => {factory_worker, start_link, []}}]}}.
