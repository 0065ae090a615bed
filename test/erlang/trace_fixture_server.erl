%% A gen_server for the trace, supervision and crash suites. Its start
%% options (a map) choose what it does in init/1:
%%   name => Atom         register locally under Atom
%%   trap_exit => true    trap exits (a `shutdown' from anyone but its
%%                        parent is then only a message; `kill' still kills)
%%   ets => {Table, Key}  create the named public table Table and insert
%%                        {Key, self()}: the table goes with the process
%%   notify => Pid        send {trace_fixture_started, Id, self()} to Pid
%%   id => Term           the Id of that message (default undefined)
-module(trace_fixture_server).
-behaviour(gen_server).

-export([start_link/1, start/1, ping/1, trapped_exits/1, start_other/2]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).

start_link(#{name := Name} = Opts) ->
    gen_server:start_link({local, Name}, ?MODULE, Opts, []);
start_link(Opts) when is_map(Opts) ->
    gen_server:start_link(?MODULE, Opts, []).

%% Unlinked and without a parent: an exit signal from the caller is only
%% a signal from some process, as for a server started elsewhere.
start(#{name := Name} = Opts) ->
    gen_server:start({local, Name}, ?MODULE, Opts, []);
start(Opts) when is_map(Opts) ->
    gen_server:start(?MODULE, Opts, []).

%% Makes Server start another (unlinked, unsupervised) server with Opts:
%% Server is then the process that spawned it, but not its supervisor.
start_other(Server, Opts) -> gen_server:call(Server, {start_other, Opts}).

%% {pong, Pid} from the running server.
ping(Server) -> gen_server:call(Server, ping).

%% The 'EXIT' messages it received while trapping exits, oldest first.
trapped_exits(Server) -> gen_server:call(Server, trapped_exits).

init(Opts) ->
    case maps:get(trap_exit, Opts, false) of
        true -> process_flag(trap_exit, true);
        false -> ok
    end,
    case maps:find(ets, Opts) of
        {ok, {Table, Key}} ->
            Table = ets:new(Table, [named_table, public, set]),
            true = ets:insert(Table, {Key, self()});
        error ->
            ok
    end,
    case maps:find(notify, Opts) of
        {ok, Pid} -> Pid ! {trace_fixture_started, maps:get(id, Opts, undefined), self()};
        error -> ok
    end,
    {ok, #{exits => []}}.

handle_call(ping, _From, State) ->
    {reply, {pong, self()}, State};
handle_call({start_other, Opts}, _From, State) ->
    {reply, start(Opts), State};
handle_call(trapped_exits, _From, #{exits := Exits} = State) ->
    {reply, lists:reverse(Exits), State}.

handle_cast(_Msg, State) ->
    {noreply, State}.

handle_info({'EXIT', _, _} = Exit, #{exits := Exits} = State) ->
    {noreply, State#{exits := [Exit | Exits]}};
handle_info(_Msg, State) ->
    {noreply, State}.
