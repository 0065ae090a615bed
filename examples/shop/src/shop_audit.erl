%% The audit log: remembers what happened. In `bounded' mode it keeps the
%% last 100 events; in `unbounded' mode it keeps all of them, the memory leak
%% the demo catches.
-module(shop_audit).
-behaviour(gen_server).

-export([start_link/0, log/1, log_sync/1, set_mode/1, count/0]).
-export([init/1, handle_call/3, handle_cast/2]).

-define(KEEP, 100).

start_link() -> gen_server:start_link({local, ?MODULE}, ?MODULE, bounded, []).

log(Event) -> gen_server:cast(?MODULE, {log, Event}).
log_sync(Event) -> gen_server:call(?MODULE, {log, Event}).
set_mode(Mode) when Mode =:= bounded; Mode =:= unbounded -> gen_server:call(?MODULE, {mode, Mode}).
count() -> gen_server:call(?MODULE, count).

init(Mode) -> {ok, #{mode => Mode, events => [], count => 0}}.

handle_call({log, Event}, _From, State) -> {reply, ok, remember(Event, State)};
handle_call({mode, Mode}, _From, State) -> {reply, ok, State#{mode := Mode, events := []}};
handle_call(count, _From, State = #{count := Count}) -> {reply, Count, State}.

handle_cast({log, Event}, State) -> {noreply, remember(Event, State)}.

remember(Event, State = #{mode := bounded, events := Events, count := N}) ->
    State#{events := lists:sublist([Event | Events], ?KEEP), count := N + 1};
remember(Event, State = #{mode := unbounded, events := Events, count := N}) ->
    State#{events := [Event | Events], count := N + 1}.
