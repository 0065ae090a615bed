%% The top of the factory: one_for_one over a counter, two sub-supervisors
%% and a temporary probe.
%%
%%   factory_sup (one_for_one)
%%   |- counter  factory_counter
%%   |- line     factory_line_sup (rest_for_one): cutter, welder, painter
%%   |- pair     factory_pair_sup (one_for_all): left, right
%%   `- probe    factory_probe (temporary: once killed, it stays dead)
-module(factory_sup).
-behaviour(supervisor).

-export([start_link/0, init/1]).

start_link() -> supervisor:start_link({local, ?MODULE}, ?MODULE, []).

init([]) ->
    Children = [#{id => counter, start => {factory_counter, start_link, []}},
                #{id => line, start => {factory_line_sup, start_link, []}, type => supervisor},
                #{id => pair, start => {factory_pair_sup, start_link, []}, type => supervisor},
                #{id => pool, start => {factory_pool_sup, start_link, []}, type => supervisor},
                #{id => probe, start => {factory_worker, start_link, [factory_probe]},
                  restart => temporary}],
    {ok, {#{strategy => one_for_one, intensity => 50, period => 5}, Children}}.
