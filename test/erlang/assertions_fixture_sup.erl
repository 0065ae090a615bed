%% A supervisor for the supertester_assertions suite: the strategy and the
%% workers are given, each an atom (its child id and registered name) or
%% {Id, none} (not registered). Every worker is an assertions_fixture_server
%% whose state is its id.
-module(assertions_fixture_sup).
-behaviour(supervisor).

-export([start_link/2, start_link/3]).
-export([init/1]).

start_link(Strategy, Names) -> supervisor:start_link(?MODULE, {Strategy, Names}).

start_link(SupName, Strategy, Names) ->
    supervisor:start_link({local, SupName}, ?MODULE, {Strategy, Names}).

init({simple_one_for_one, _Names}) ->
    {ok, {#{strategy => simple_one_for_one},
          [#{id => worker, start => {assertions_fixture_server, start_link, []}}]}};
init({Strategy, Names}) ->
    {ok, {#{strategy => Strategy, intensity => 10, period => 5},
          [child(Name) || Name <- Names]}}.

child({Id, none}) -> #{id => Id, start => {assertions_fixture_server, start_link, [none, Id]}};
child(Name) -> #{id => Name, start => {assertions_fixture_server, start_link, [Name, Name]}}.
