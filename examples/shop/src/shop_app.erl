%% The shop example application: a catalog and an audit log under one
%% supervisor.
-module(shop_app).
-behaviour(application).

-export([start/2, stop/1]).

start(_Type, _Args) -> shop_sup:start_link().

stop(_State) -> ok.
