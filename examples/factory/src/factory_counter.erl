%% A counter that starts at 0 and forgets everything when it restarts, so a
%% test can tell a restarted counter from the old one by its value.
-module(factory_counter).
-behaviour(gen_server).

-export([start_link/0, value/0, add/1]).
-export([init/1, handle_call/3, handle_cast/2]).

start_link() -> gen_server:start_link({local, ?MODULE}, ?MODULE, 0, []).

value() -> gen_server:call(?MODULE, value).
add(N) when is_integer(N) -> gen_server:call(?MODULE, {add, N}).

init(Value) -> {ok, Value}.

handle_call(ping, _From, Value) -> {reply, pong, Value};
handle_call(value, _From, Value) -> {reply, Value, Value};
handle_call({add, N}, _From, Value) when is_integer(N) -> {reply, Value + N, Value + N}.

handle_cast({add, N}, Value) when is_integer(N) -> {noreply, Value + N}.
