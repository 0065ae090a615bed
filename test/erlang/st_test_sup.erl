%% A supervisor of three st_test_server children (a, b, c) with the strategy
%% given as init argument.
-module(st_test_sup).
-behaviour(supervisor).

-export([init/1]).

init(Strategy) ->
    Children = [#{id => Id, start => {st_test_server, start_link, []}} || Id <- [a, b, c]],
    {ok, {#{strategy => Strategy, intensity => 3, period => 5}, Children}}.
