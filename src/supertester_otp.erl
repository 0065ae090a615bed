%% @doc Starting and waiting on OTP processes in isolation: the Erlang side
%% of `Supertester.OTPHelpers'.
%%
%% Servers and supervisors started here belong to the caller's isolation
%% context ({@link supertester_isolation}): they get a unique name from the
%% name pools (`my_server#0', `my_server#1'... slots come back when their
%% holder dies, so atoms stay bounded), they are not linked to the caller
%% (a test may crash them, a setup process may exit), and they are stopped,
%% newest first, when the context is torn down.
%%
%% ```
%% {ok, Pid} = supertester_otp:setup_isolated_genserver(my_counter, "counter test",
%%                                                      [{init_args, #{start => 0}}]),
%% ok = supertester_otp:wait_for_genserver_sync(Pid, 1000).
%% '''
-module(supertester_otp).

-export([setup_isolated_genserver/1, setup_isolated_genserver/2, setup_isolated_genserver/3,
         setup_isolated_supervisor/1, setup_isolated_supervisor/2, setup_isolated_supervisor/3,
         wait_for_genserver_sync/1, wait_for_genserver_sync/2,
         wait_for_process_restart/2, wait_for_process_restart/3,
         wait_for_process_death/1, wait_for_process_death/2,
         wait_for_supervisor_restart/1, wait_for_supervisor_restart/2,
         monitor_process_lifecycle/1, cleanup_processes/1, cleanup_on_exit/1]).

-define(START_OPTIONS, [init_args, name, timeout, debug, spawn_opt, hibernate_after]).

%% @equiv setup_isolated_genserver(Module, "", [])
setup_isolated_genserver(Module) -> setup_isolated_genserver(Module, "", []).

%% @equiv setup_isolated_genserver(Module, TestName, [])
setup_isolated_genserver(Module, TestName) -> setup_isolated_genserver(Module, TestName, []).

%% @doc Starts `Module' as a gen_server in the current isolation context.
%% Options:
%% <ul>
%% <li>`init_args' (default `[]'): the argument of `Module:init/1';</li>
%% <li>`name': register under this name (an atom, `{global, N}' or
%%   `{via, M, N}') instead of a name from the pools; `nil', `undefined'
%%   or `false' start it without a name;</li>
%% <li>`timeout' (ms, default 5000): how long `init/1' may take;</li>
%% <li>`debug', `spawn_opt', `hibernate_after': passed to the start.</li>
%% </ul>
%% `TestName' (a string) is kept in the process's info. A module that does
%% not export `init/1' is refused with a `badarg' error.
-spec setup_isolated_genserver(module(), iodata() | atom(), supertester_lib:options()) ->
          {ok, pid()} | {error, term()}.
setup_isolated_genserver(Module, TestName, Opts) ->
    start_isolated(gen_server, Module, TestName, Opts).

%% @equiv setup_isolated_supervisor(Module, "", [])
setup_isolated_supervisor(Module) -> setup_isolated_supervisor(Module, "", []).

%% @equiv setup_isolated_supervisor(Module, TestName, [])
setup_isolated_supervisor(Module, TestName) -> setup_isolated_supervisor(Module, TestName, []).

%% @doc Starts `Module' as a supervisor in the current isolation context,
%% with the options of {@link setup_isolated_genserver/3} (`init_args' is
%% the argument of `Module:init/1'). The supervisor outlives the process
%% that started it (a setup callback, say) until teardown, which shuts it
%% down with its children.
-spec setup_isolated_supervisor(module(), iodata() | atom(), supertester_lib:options()) ->
          {ok, pid()} | {error, term()}.
setup_isolated_supervisor(Module, TestName, Opts) ->
    start_isolated(supervisor, Module, TestName, Opts).

start_isolated(Behaviour, Module, TestName, Opts) ->
    check_module(Behaviour, Module),
    O = supertester_lib:options(setup_isolated, Opts, ?START_OPTIONS),
    InitArgs = maps:get(init_args, O, []),
    Timeout = supertester_lib:check_timeout(timeout, maps:get(timeout, O, 5000)),
    StartOpts = [{K, V} || {K, V} <- maps:to_list(maps:with([debug, spawn_opt, hibernate_after], O))],
    %% gen_server:start/4 starts unlinked and bounds its own wait; a
    %% supervisor only has start_link, so it is started through a helper.
    Linked = Behaviour =:= supervisor,
    GenOpts = [{timeout, Timeout} || not Linked] ++ StartOpts,
    Start = fun(none) -> start(Behaviour, nameless, Module, InitArgs, GenOpts);
               (Name) -> start(Behaviour, Name, Module, InitArgs, GenOpts)
            end,
    Info = #{module => Module, behaviour => Behaviour, test_name => test_name(TestName)},
    Ctx = supertester_isolation:ensure(),
    Pool = case maps:find(name, O) of
               error -> Module;
               {ok, Unnamed} when Unnamed =:= nil; Unnamed =:= undefined; Unnamed =:= false -> none;
               {ok, Given} -> {given, name_spec(Given)}
           end,
    Result = case Pool of
                 {given, Spec} ->
                     supertester_isolation:start_tracked(
                       Ctx, none, fun(none) -> start(Behaviour, Spec, Module, InitArgs, GenOpts) end,
                       #{info => Info#{name => Spec}, timeout => Timeout, linked => Linked});
                 _ ->
                     supertester_isolation:start_tracked(Ctx, Pool, Start,
                                                         #{info => Info, timeout => Timeout,
                                                           linked => Linked})
             end,
    case Result of
        {ok, Pid, _Name} -> {ok, Pid};
        {error, _} = Error -> Error
    end.

start(gen_server, nameless, Module, Args, Opts) -> gen_server:start(Module, Args, Opts);
start(gen_server, Name, Module, Args, Opts) -> gen_server:start(name_spec(Name), Module, Args, Opts);
start(supervisor, nameless, Module, Args, _Opts) -> supervisor:start_link(Module, Args);
start(supervisor, Name, Module, Args, _Opts) -> supervisor:start_link(name_spec(Name), Module, Args).

name_spec(Name) when is_atom(Name) -> {local, Name};
name_spec({local, Name} = Spec) when is_atom(Name) -> Spec;
name_spec({global, _} = Spec) -> Spec;
name_spec({via, Module, _} = Spec) when is_atom(Module) -> Spec;
name_spec(Other) ->
    supertester_lib:bad_arg(name, Other, "an atom, {global, Name} or {via, Module, Name}").

check_module(Behaviour, Module) when is_atom(Module) ->
    _ = code:ensure_loaded(Module),
    erlang:function_exported(Module, init, 1) orelse
        supertester_lib:bad_arg(module, Module,
                                io_lib:format("a ~s callback module: one exporting init/1", [Behaviour]));
check_module(_Behaviour, Other) ->
    supertester_lib:bad_arg(module, Other, "a module name").

test_name(Name) when is_binary(Name); is_atom(Name) -> Name;
test_name(Name) when is_list(Name) -> unicode:characters_to_binary(Name);
test_name(Other) -> supertester_lib:bad_arg(test_name, Other, "a string").

%% @equiv wait_for_genserver_sync(Server, 1000)
wait_for_genserver_sync(Server) -> wait_for_genserver_sync(Server, 1000).

%% @doc Returns `ok' once the server has handled everything sent to it so
%% far and answered, or `{error, noproc | timeout | Reason}'. Uses the
%% server's sync handler when it has one, `sys:get_state' otherwise, so a
%% server without the handler is not crashed by the check.
-spec wait_for_genserver_sync(supertester_genserver:server(), timeout()) -> ok | {error, term()}.
wait_for_genserver_sync(Server, Timeout) ->
    _ = supertester_lib:check_timeout(timeout, Timeout),
    supertester_genserver:sync(Server, Timeout).

%% @equiv wait_for_process_restart(Name, OriginalPid, 1000)
wait_for_process_restart(Name, OriginalPid) -> wait_for_process_restart(Name, OriginalPid, 1000).

%% @doc Waits until the process registered as `Name' is a new process
%% (not `OriginalPid') that answers a sync, and returns its pid; waits for
%% `OriginalPid' to die first, through a monitor. `{error, timeout}' when
%% it did not happen within `Timeout' ms.
-spec wait_for_process_restart(supertester_genserver:server(), pid(), timeout()) ->
          {ok, pid()} | {error, term()}.
wait_for_process_restart(Name, OriginalPid, Timeout) when is_pid(OriginalPid) ->
    _ = supertester_lib:check_timeout(timeout, Timeout),
    Deadline = supertester_lib:deadline(Timeout),
    %% Watch the supervisor before anything can happen: its trace events
    %% say when the replacement has registered.
    Watch = supertester_recovery:watch(supertester_recovery:supervisor_of(OriginalPid)),
    Mon = erlang:monitor(process, OriginalPid),
    try supertester_proc:await_down(Mon, OriginalPid, supertester_lib:remaining(Deadline)) of
        {error, timeout} ->
            erlang:demonitor(Mon, [flush]),
            {error, timeout};
        {ok, _} ->
            supertester_recovery:await(
              fun() ->
                      case supertester_lib:resolve(Name) of
                          New when is_pid(New), New =/= OriginalPid ->
                              supertester_genserver:sync(New, 100) =:= ok andalso {true, New};
                          _ ->
                              false
                      end
              end, Watch, Deadline)
    after
        supertester_recovery:unwatch(Watch)
    end;
wait_for_process_restart(_Name, Other, _Timeout) ->
    supertester_lib:bad_arg(original_pid, Other, "a pid").

%% @equiv wait_for_process_death(Pid, 1000)
wait_for_process_death(Pid) -> wait_for_process_death(Pid, 1000).

%% @doc `{ok, ExitReason}' once `Pid' is dead (`noproc' if it already was),
%% `{error, timeout}' otherwise.
-spec wait_for_process_death(pid(), timeout()) -> {ok, term()} | {error, timeout}.
wait_for_process_death(Pid, Timeout) when is_pid(Pid) ->
    _ = supertester_lib:check_timeout(timeout, Timeout),
    Mon = erlang:monitor(process, Pid),
    case supertester_proc:await_down(Mon, Pid, Timeout) of
        {ok, Reason} -> {ok, Reason};
        {error, timeout} -> erlang:demonitor(Mon, [flush]), {error, timeout}
    end;
wait_for_process_death(Other, _Timeout) ->
    supertester_lib:bad_arg(pid, Other, "a pid").

%% @equiv wait_for_supervisor_restart(Supervisor, 1000)
wait_for_supervisor_restart(Supervisor) -> wait_for_supervisor_restart(Supervisor, 1000).

%% @doc `{ok, SupervisorPid}' once every child of the supervisor is
%% running, `{error, timeout}' otherwise. The supervisor is asked again
%% after each of its trace events (see {@link supertester_recovery}); a
%% child found dead is waited on through a monitor first.
-spec wait_for_supervisor_restart(supertester_genserver:server(), timeout()) ->
          {ok, pid()} | {error, term()}.
wait_for_supervisor_restart(Supervisor, Timeout) ->
    _ = supertester_lib:check_timeout(timeout, Timeout),
    Deadline = supertester_lib:deadline(Timeout),
    Watch = supertester_recovery:watch(supertester_lib:resolve(Supervisor)),
    try
        supertester_recovery:await(fun() -> all_children_running(Supervisor, Deadline) end,
                                   Watch, Deadline)
    after
        supertester_recovery:unwatch(Watch)
    end.

all_children_running(Supervisor, Deadline) ->
    try supervisor:which_children(Supervisor) of
        Children ->
            Dead = [P || {_, P, _, _} <- Children, is_pid(P), not is_process_alive(P)],
            %% Let the supervisor see the deaths before asking it again.
            lists:foreach(fun(P) ->
                                  M = erlang:monitor(process, P),
                                  _ = supertester_proc:await_down(M, P, supertester_lib:remaining(Deadline))
                          end, Dead),
            Running = Dead =:= [] andalso
                lists:all(fun({_, P, _, _}) -> is_pid(P) end, Children),
            Running andalso {true, supertester_lib:resolve(Supervisor)}
    catch
        exit:_ -> false
    end.

%% @doc `{MonitorRef, Pid}': a monitor on `Pid'.
-spec monitor_process_lifecycle(pid()) -> {reference(), pid()}.
monitor_process_lifecycle(Pid) when is_pid(Pid) ->
    {erlang:monitor(process, Pid), Pid};
monitor_process_lifecycle(Other) ->
    supertester_lib:bad_arg(pid, Other, "a pid").

%% @doc Stops each process (OTP processes through their terminate, others
%% with an exit signal, killed after 1 s) and returns once all are dead.
-spec cleanup_processes([pid()]) -> ok.
cleanup_processes(Pids) when is_list(Pids) ->
    lists:foreach(fun(Pid) when is_pid(Pid) ->
                          supertester_proc:stop(Pid, supertester_proc:kind(Pid), 1000);
                     (Other) ->
                          supertester_lib:bad_arg(pids, Other, "a list of pids")
                  end, Pids);
cleanup_processes(Other) ->
    supertester_lib:bad_arg(pids, Other, "a list of pids").

%% @doc Runs `Fun' when the current isolation context is torn down.
-spec cleanup_on_exit(fun(() -> term())) -> ok.
cleanup_on_exit(Fun) ->
    ok = supertester_isolation:add_cleanup(supertester_isolation:ensure(), Fun).
