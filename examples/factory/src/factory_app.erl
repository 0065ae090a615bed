%% The factory example application: a supervision tree with every restart
%% strategy in it, for the C-node's tests, demo and bench.
-module(factory_app).
-behaviour(application).

-export([start/2, stop/1]).

start(_Type, _Args) -> factory_sup:start_link().

stop(_State) -> ok.
