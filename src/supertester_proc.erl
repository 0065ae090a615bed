%% @doc Process lifecycle for the isolation runtime: starting a process that
%% is not linked to its caller, and stopping one with bounded waits.
%%
%% Why not link: a test that crashes a server on purpose must not die with
%% it, and a server started in a setup callback must survive the setup
%% process. Processes started here are owned by the test's isolation
%% context instead, which stops them when the test ends.
-module(supertester_proc).

-export([start_unlinked/2, stop/2, stop/3, await_down/3, kind/1, describe/1]).

-define(DEFAULT_START_TIMEOUT, 5000).

%% @doc Runs `Start' (a function returning `{ok, Pid}' like a start_link)
%% in a short-lived helper that traps exits, then unlinks the new process
%% from the helper. The caller never links to it, so a failing `init/1'
%% returns `{error, Reason}' instead of killing the caller. Waits at most
%% `Timeout' ms for the start to finish.
-spec start_unlinked(fun(() -> term()), timeout()) -> {ok, pid()} | {error, term()}.
start_unlinked(Start, Timeout) ->
    Caller = self(),
    Ref = make_ref(),
    {Helper, Monitor} =
        spawn_monitor(fun() ->
                              process_flag(trap_exit, true),
                              Result = try Start() catch C:R:S -> {error, {C, R, S}} end,
                              case Result of
                                  {ok, Pid} when is_pid(Pid) -> unlink(Pid);
                                  {ok, Pid, _Info} when is_pid(Pid) -> unlink(Pid);
                                  _ -> ok
                              end,
                              Caller ! {Ref, Result}
                      end),
    receive
        {Ref, Result} ->
            erlang:demonitor(Monitor, [flush]),
            normalize(Result);
        {'DOWN', Monitor, process, Helper, Reason} ->
            {error, Reason}
    after Timeout ->
            exit(Helper, kill),
            erlang:demonitor(Monitor, [flush]),
            {error, {start_timeout, Timeout}}
    end.

normalize({ok, Pid}) when is_pid(Pid) -> {ok, Pid};
normalize({ok, Pid, _Info}) when is_pid(Pid) -> {ok, Pid};
normalize({error, _} = Error) -> Error;
normalize(ignore) -> {error, ignore};
normalize(Other) -> {error, {bad_return, Other}}.

%% @equiv stop(Pid, Kind, 5000)
-spec stop(pid(), otp | process) -> ok.
stop(Pid, Kind) -> stop(Pid, Kind, ?DEFAULT_START_TIMEOUT).

%% @doc Stops a process and returns once it is dead. An OTP process
%% (`otp': gen_server, supervisor, gen_statem...) is asked to stop with
%% reason `shutdown', running its `terminate/2' (a supervisor shuts its
%% children down first); any other process gets an exit signal
%% `shutdown'. Either way, a process still alive after `Timeout' ms is
%% killed.
-spec stop(pid(), otp | process, timeout()) -> ok.
stop(Pid, Kind, Timeout) ->
    Monitor = erlang:monitor(process, Pid),
    Deadline = supertester_lib:deadline(Timeout),
    case Kind of
        otp ->
            %% Returns once the process is dead; exits on timeout, or when
            %% terminate/2 ends with another reason: the kill below covers both.
            _ = (catch proc_lib:stop(Pid, shutdown, Timeout));
        process ->
            exit(Pid, shutdown)
    end,
    case await_down(Monitor, Pid, supertester_lib:remaining(Deadline)) of
        {ok, _Reason} ->
            ok;
        {error, timeout} ->
            exit(Pid, kill),
            _ = await_down(Monitor, Pid, infinity),
            ok
    end.

%% @doc Waits for the 'DOWN' message of `Monitor' (which monitors `Pid').
-spec await_down(reference(), pid(), timeout()) -> {ok, term()} | {error, timeout}.
await_down(Monitor, Pid, Timeout) ->
    receive
        {'DOWN', Monitor, process, Pid, Reason} -> {ok, Reason}
    after Timeout ->
            {error, timeout}
    end.

%% @doc `otp' for a process proc_lib started (gen_server, supervisor,
%% gen_statem...: it answers system messages and can be stopped through
%% its terminate), `process' otherwise.
-spec kind(pid()) -> otp | process.
kind(Pid) ->
    case process_info(Pid, dictionary) of
        {dictionary, Dict} ->
            case lists:keymember('$initial_call', 1, Dict) of
                true -> otp;
                false -> process
            end;
        undefined ->
            process
    end.

%% @doc What a report needs to say about a live process: pid, initial call
%% (the real entry point of a gen_server, not proc_lib's), registered name
%% (`undefined' when none), status and current function. `undefined' once
%% the process has exited.
-spec describe(pid()) -> #{pid := pid(), initial_call := mfa(), name := atom(),
                           status := atom(), current_function := mfa()} | undefined.
describe(Pid) ->
    case process_info(Pid, [registered_name, status, current_function]) of
        undefined ->
            undefined;
        [{registered_name, Name}, {status, Status}, {current_function, Current}] ->
            #{pid => Pid, initial_call => initial_call(Pid), status => Status,
              current_function => Current,
              name => case Name of [] -> undefined; _ -> Name end}
    end.

%% gen_server and friends all start in proc_lib, which keeps their real
%% entry point in their dictionary.
initial_call(Pid) ->
    case proc_lib:translate_initial_call(Pid) of
        {proc_lib, init_p, 5} ->
            case process_info(Pid, initial_call) of
                {initial_call, MFA} -> MFA;
                undefined -> {proc_lib, init_p, 5}
            end;
        MFA ->
            MFA
    end.
