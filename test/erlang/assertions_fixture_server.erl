%% A small gen_server for the supertester_assertions suite: it holds any
%% term as its state, answers `get', can be held inside a cast (so it does
%% not answer until released) and can start a child of its own.
-module(assertions_fixture_server).
-behaviour(gen_server).

-export([start_link/1, start_link/2, start/1, hold/1, release/1]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).

start_link(State) -> gen_server:start_link(?MODULE, State, []).

%% Registered under Name (an atom) when Name is not `none'.
start_link(none, State) -> start_link(State);
start_link(Name, State) -> gen_server:start_link({local, Name}, ?MODULE, State, []).

start(State) -> gen_server:start(?MODULE, State, []).

%% Returns once the server waits inside handle_cast for release/1: calls
%% to it go unanswered meanwhile.
hold(Server) ->
    gen_server:cast(Server, {hold, self()}),
    receive {held, Server} -> ok end.

release(Server) -> Server ! release, ok.

init(State) -> {ok, State}.

handle_call(get, _From, State) -> {reply, {ok, State}, State};
handle_call({set, New}, _From, _State) -> {reply, ok, New};
handle_call(start_child, _From, State) ->
    {ok, Child} = start(child_of_server),
    {reply, {ok, Child}, State}.

handle_cast({hold, Caller}, State) ->
    Caller ! {held, self()},
    receive release -> ok end,
    {noreply, State}.

handle_info(_Message, State) -> {noreply, State}.
