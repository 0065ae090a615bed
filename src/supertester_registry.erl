%% @doc A small per-test process registry for Erlang tests, used through
%% `via' names: `{via, supertester_registry, {Registry, Key}}'.
%%
%% The `registry' and `full_isolation' modes start one per test (Elixir
%% tests get an Elixir `Registry' instead, as Supertester 0.5.1 did), so two
%% tests registering the same Key never collide. Lookups read a protected
%% ETS table named like the registry, without a call; registrations go
%% through the registry process, which monitors each registered process and
%% forgets it when it dies.
%%
%% ```
%% Ctx = supertester_isolation:setup(registry),
%% Reg = maps:get(registry, Ctx),
%% {ok, _} = gen_server:start({via, supertester_registry, {Reg, cache}}, my_cache, [], []),
%% gen_server:call({via, supertester_registry, {Reg, cache}}, get).
%% '''
-module(supertester_registry).
-behaviour(gen_server).

-export([start_link/1, register_name/2, unregister_name/1, whereis_name/1, send/2]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).

%% @doc Starts a registry registered as `Name' (an atom), with an ETS table
%% of the same name.
-spec start_link(atom()) -> {ok, pid()} | {error, term()}.
start_link(Name) when is_atom(Name) ->
    gen_server:start_link({local, Name}, ?MODULE, Name, []).

%% The via protocol --------------------------------------------------------

-spec register_name({atom(), term()}, pid()) -> yes | no.
register_name({Registry, Key}, Pid) when is_pid(Pid) ->
    gen_server:call(Registry, {register, Key, Pid}).

-spec unregister_name({atom(), term()}) -> ok.
unregister_name({Registry, Key}) ->
    gen_server:call(Registry, {unregister, Key}).

-spec whereis_name({atom(), term()}) -> pid() | undefined.
whereis_name({Registry, Key}) ->
    try ets:lookup(Registry, Key) of
        [{Key, Pid, _Monitor}] -> Pid;
        [] -> undefined
    catch
        error:badarg -> undefined % no such registry (any more)
    end.

-spec send({atom(), term()}, term()) -> pid().
send({_Registry, _Key} = Name, Msg) ->
    case whereis_name(Name) of
        undefined -> erlang:exit({badarg, {Name, Msg}});
        Pid -> Pid ! Msg, Pid
    end.

%% gen_server --------------------------------------------------------------

init(Name) ->
    Table = ets:new(Name, [named_table, protected, set, {read_concurrency, true}]),
    {ok, Table}.

handle_call({register, Key, Pid}, _From, Table) ->
    case ets:lookup(Table, Key) of
        [_] ->
            {reply, no, Table};
        [] ->
            true = ets:insert(Table, {Key, Pid, erlang:monitor(process, Pid)}),
            {reply, yes, Table}
    end;
handle_call({unregister, Key}, _From, Table) ->
    case ets:lookup(Table, Key) of
        [{Key, _Pid, Monitor}] ->
            erlang:demonitor(Monitor, [flush]),
            ets:delete(Table, Key);
        [] ->
            ok
    end,
    {reply, ok, Table}.

handle_cast(_Msg, Table) ->
    {noreply, Table}.

handle_info({'DOWN', Monitor, process, Pid, _Reason}, Table) ->
    ets:match_delete(Table, {'_', Pid, Monitor}),
    {noreply, Table};
handle_info(_Msg, Table) ->
    {noreply, Table}.
