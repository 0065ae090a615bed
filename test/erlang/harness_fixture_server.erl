%% A gen_server for the concurrency harness tests: it logs every message it
%% handles, in order, and keeps a counter.
-module(harness_fixture_server).
-behaviour(gen_server).

-export([start_link/1, log/1]).
-export([init/1, handle_call/3, handle_cast/2]).

start_link(Opts) -> gen_server:start_link(?MODULE, Opts, []).

%% The messages handled so far, oldest first.
log(Server) -> gen_server:call(Server, log).

init(Opts) ->
    {ok, #{log => [], count => proplists:get_value(count, Opts, 0)}}.

handle_call(log, _From, #{log := Log} = State) ->
    {reply, lists:reverse(Log), State};
handle_call(value, _From, #{count := N} = State) ->
    {reply, N, logged(value, State)};
handle_call(hang, _From, State) ->
    {noreply, State};
handle_call(crash, _From, _State) ->
    erlang:error(asked_to_crash);
handle_call(Msg, _From, State) ->
    {reply, ok, apply_msg(Msg, logged(Msg, State))}.

handle_cast(Msg, State) ->
    {noreply, apply_msg(Msg, logged(Msg, State))}.

logged(Msg, #{log := Log} = State) -> State#{log := [Msg | Log]}.

apply_msg(increment, #{count := N} = State) -> State#{count := N + 1};
apply_msg(decrement, #{count := N} = State) -> State#{count := N - 1};
apply_msg(reset, State) -> State#{count := 0};
apply_msg(_, State) -> State.
