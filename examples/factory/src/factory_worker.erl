%% A plain worker, registered under the name it is given. It answers `ping'
%% and `{echo, Term}', ignores casts, and does not trap exits: exit(Pid, kill)
%% or any other exit signal takes it down like any process.
-module(factory_worker).
-behaviour(gen_server).

-export([start_link/1, child_spec/2]).
-export([init/1, handle_call/3, handle_cast/2]).

start_link(Name) -> gen_server:start_link({local, Name}, ?MODULE, [], []).

child_spec(Id, Name) -> #{id => Id, start => {?MODULE, start_link, [Name]}}.

init([]) -> {ok, #{}}.

handle_call(ping, _From, State) -> {reply, pong, State};
handle_call({echo, Term}, _From, State) -> {reply, Term, State}.

handle_cast(_Msg, State) -> {noreply, State}.
