%% A real gen_server for the test suites. It can be held (it then waits for a
%% release message inside handle_cast, so its mailbox fills up
%% deterministically), and it can keep what it is given, without bound
%% (a leak) or only the last N items (a bounded cache, not a leak).
-module(st_test_server).
-behaviour(gen_server).

-export([start_link/0, start/0, hold/1, release/1, sync/1, work/1,
         remember/2, remember_last/3, size/1]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).

start_link() -> gen_server:start_link(?MODULE, [], []).
start() -> gen_server:start(?MODULE, [], []).

%% Makes the server wait, inside handle_cast, until release/1. Returns once
%% the server is waiting, so its mailbox is empty at that moment.
hold(Server) ->
    gen_server:cast(Server, {hold, self()}),
    receive {held, Server} -> ok end.

release(Server) ->
    Server ! release,
    sync(Server).

%% Returns once every message sent before it has been handled.
sync(Server) -> gen_server:call(Server, sync, infinity).

work(Server) -> gen_server:cast(Server, work).

%% Keeps Term forever: memory grows with every call.
remember(Server, Term) -> gen_server:call(Server, {remember, Term}).

%% Keeps only the last Max terms.
remember_last(Server, Term, Max) -> gen_server:call(Server, {remember_last, Term, Max}).

size(Server) -> gen_server:call(Server, size).

init([]) -> {ok, []}.

handle_call(sync, _From, State) ->
    {reply, ok, State};
handle_call({remember, Term}, _From, State) ->
    {reply, ok, [Term | State]};
handle_call({remember_last, Term, Max}, _From, State) ->
    {reply, ok, lists:sublist([Term | State], Max)};
handle_call(size, _From, State) ->
    {reply, length(State), State}.

handle_cast({hold, Caller}, State) ->
    Caller ! {held, self()},
    receive release -> ok end,
    {noreply, State};
handle_cast(work, State) ->
    {noreply, State}.

handle_info(_Msg, State) ->
    {noreply, State}.
