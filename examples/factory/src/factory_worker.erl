%% A plain worker, registered under the name it is given (or none). It answers `ping'
%% and `{echo, Term}', ignores casts, and does not trap exits: exit(Pid, kill)
%% or any other exit signal takes it down like any process.
-module(factory_worker).
-behaviour(gen_server).

-export([start_link/0, start_link/1, child_spec/1]).
-export([init/1, handle_call/3, handle_cast/2]).

start_link() -> gen_server:start_link(?MODULE, [], []).
start_link(Name) -> gen_server:start_link({local, Name}, ?MODULE, [], []).

%% Workers under the line and the pair have no registered name: when their
%% supervisor is killed they die only as its exit signal reaches them, and
%% a restarted supervisor registering the same names meanwhile would fail
%% and retry until its parent gave up (a storm the C-node's chaos runs
%% found in an earlier version of this example).
child_spec(Id) -> #{id => Id, start => {?MODULE, start_link, []}}.

init([]) -> {ok, #{}}.

handle_call(ping, _From, State) -> {reply, pong, State};
handle_call({echo, Term}, _From, State) -> {reply, Term, State}.

handle_cast(_Msg, State) -> {noreply, State}.
