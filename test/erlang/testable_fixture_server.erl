%% A gen_server made testable the way users do it: with the compile
%% attribute below, compiled by rebar3 like any other module. The
%% supertester_testable_tests suite checks that the attribute form works.
-module(testable_fixture_server).
-behaviour(gen_server).
-compile({parse_transform, supertester_testable}).

-export([start_link/0, add/2, total/1]).
-export([init/1, handle_call/3, handle_cast/2]).

start_link() -> gen_server:start_link(?MODULE, 0, []).

%% Asynchronous on purpose: the tests synchronise with the sync call.
add(Server, N) -> gen_server:cast(Server, {add, N}).

total(Server) -> gen_server:call(Server, total).

init(Total) -> {ok, Total}.

handle_call(total, _From, Total) ->
    {reply, Total, Total};
handle_call(_Unknown, _From, Total) ->
    {reply, {error, unknown_call}, Total}.

handle_cast({add, N}, Total) ->
    {noreply, Total + N}.
