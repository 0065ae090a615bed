%% The production line: rest_for_one, so a crash restarts the crashed
%% station and every station started after it (killing the welder restarts
%% the welder and the painter; the cutter keeps its pid).
-module(factory_line_sup).
-behaviour(supervisor).

-export([start_link/0, init/1]).

start_link() -> supervisor:start_link({local, ?MODULE}, ?MODULE, []).

init([]) ->
    Children = [factory_worker:child_spec(cutter),
                factory_worker:child_spec(welder),
                factory_worker:child_spec(painter)],
    {ok, {#{strategy => rest_for_one, intensity => 50, period => 5}, Children}}.
