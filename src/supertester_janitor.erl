%% @doc Cleans up after tests whose process exited without tearing its
%% isolation context down (an EUnit test that used the helpers without a
%% fixture, a test that crashed before its teardown).
%%
%% A context's record in C monitors the test's process; when that process
%% dies, the monitor's callback sends `{supertester_owner_down, Record}'
%% here, and the janitor undoes the record in a fresh process (a slow
%% cleanup never holds up the others). One janitor per VM, started on first
%% need and registered as `supertester_janitor'; it belongs to no
%% application and links to nothing, so it outlives the tests that start
%% it.
-module(supertester_janitor).

-export([ensure/0]).

%% @doc The janitor's pid, starting it if needed.
-spec ensure() -> pid().
ensure() ->
    case whereis(?MODULE) of
        undefined -> start();
        Pid -> Pid
    end.

start() ->
    Parent = self(),
    Ref = make_ref(),
    {Pid, Monitor} = spawn_monitor(fun() ->
                                           Registered = (catch register(?MODULE, self())) =:= true,
                                           Parent ! {Ref, Registered},
                                           Registered andalso loop()
                                   end),
    receive
        {Ref, true} ->
            erlang:demonitor(Monitor, [flush]),
            Pid;
        {Ref, false} ->
            %% Another process started one first: use it.
            erlang:demonitor(Monitor, [flush]),
            ensure();
        {'DOWN', Monitor, process, Pid, Reason} ->
            erlang:error({janitor_failed_to_start, Reason})
    end.

loop() ->
    receive
        {supertester_owner_down, Record} ->
            _ = spawn(fun() -> supertester_isolation:cleanup_record(Record) end),
            loop();
        _Other ->
            loop()
    end.
