%% A pair that lives and dies together: one_for_all, so a crash of either
%% side restarts both.
-module(factory_pair_sup).
-behaviour(supervisor).

-export([start_link/0, init/1]).

start_link() -> supervisor:start_link({local, ?MODULE}, ?MODULE, []).

init([]) ->
    Children = [factory_worker:child_spec(left),
                factory_worker:child_spec(right)],
    {ok, {#{strategy => one_for_all, intensity => 50, period => 5}, Children}}.
