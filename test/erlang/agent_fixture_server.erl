%% A gen_server child for the agent suite: answers `ping', sends what it is
%% told to (`{send, To, Msg}' cast), stops normally on `stop_normal'.
-module(agent_fixture_server).
-behaviour(gen_server).

-export([start_link/0]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).

start_link() ->
    gen_server:start_link(?MODULE, [], []).

init([]) ->
    {ok, #{}}.

handle_call(ping, _From, State) ->
    {reply, pong, State};
handle_call(stop_normal, _From, State) ->
    {stop, normal, ok, State}.

handle_cast({send, To, Msg}, State) ->
    To ! Msg,
    {noreply, State}.

handle_info(_Msg, State) ->
    {noreply, State}.
