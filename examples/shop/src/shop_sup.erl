-module(shop_sup).
-behaviour(supervisor).

-export([start_link/0, init/1]).

start_link() -> supervisor:start_link({local, ?MODULE}, ?MODULE, []).

init([]) ->
    Children = [#{id => catalog, start => {shop_catalog, start_link, [1000]}},
                #{id => audit, start => {shop_audit, start_link, []}}],
    {ok, {#{strategy => one_for_one, intensity => 5, period => 10}, Children}}.
