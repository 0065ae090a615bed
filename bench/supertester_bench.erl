%% @doc Driver of `make bench': prints the machine and the command that
%% reproduces the run, then runs each benchmark section in turn.
%%
%% A section is a module exporting `run/0', which prints its own part and
%% returns a list of `{target, Description, Met}' (performance goals: noisy,
%% reported but never fatal) and `{check, Description, Passed}' (correctness:
%% a failure makes the run exit with status 1). Add a section by adding its
%% module to ?SECTIONS.
-module(supertester_bench).

-export([main/0, main/1, sections/0]).

-define(SECTIONS, [bench_hist, bench_mailbox, bench_isolation, bench_trace, bench_recovery, bench_chaos, bench_harness,
                   bench_cnode]).

%% @doc The sections `main/0' runs, in order.
-spec sections() -> [module()].
sections() -> ?SECTIONS.

%% @doc Runs every section; returns `ok' or halts with status 1 when a
%% section crashes or one of its checks fails.
-spec main() -> ok.
main() -> main(?SECTIONS).

%% @doc Runs the given sections only.
-spec main([module()]) -> ok.
main(Sections) ->
    T0 = erlang:monotonic_time(millisecond),
    header(),
    Results = [{S, run_section(S)} || S <- Sections],
    Elapsed = (erlang:monotonic_time(millisecond) - T0) / 1000,
    io:format("~n== Summary (~.1f s; load average ~s) ==~n", [Elapsed, loadavg()]),
    Failed = lists:append([summarize(S, R) || {S, R} <- Results]),
    case Failed of
        [] ->
            ok;
        _ ->
            io:format("~nFAILED: ~s~n", [lists:join("; ", Failed)]),
            erlang:halt(1)
    end.

run_section(Mod) ->
    try Mod:run() of
        Results when is_list(Results) -> {ok, Results};
        Other -> {ok, [{check, io_lib:format("run/0 returned ~p", [Other]), false}]}
    catch
        exit:Reason ->
            %% A section gives up with exit/1 after saying why.
            io:format("~nsection ~s stopped: ~p~n", [Mod, Reason]),
            {crashed, Reason};
        Class:Reason:Stack ->
            io:format("~nsection ~s crashed: ~p:~p~n  ~p~n", [Mod, Class, Reason, Stack]),
            {crashed, Reason}
    end.

%% Prints one line per result; returns the descriptions of the failures.
summarize(Mod, {crashed, _}) ->
    io:format("  ~s: crashed~n", [Mod]),
    [atom_to_list(Mod) ++ " crashed"];
summarize(Mod, {ok, Results}) ->
    lists:append(
      [case R of
           {target, What, Met} ->
               io:format("  ~s target ~s: ~s~n",
                         [Mod, What, if Met -> "met"; true -> "NOT MET" end]),
               [];
           {check, What, true} ->
               io:format("  ~s check ~s: ok~n", [Mod, What]),
               [];
           {check, What, false} ->
               io:format("  ~s check ~s: FAILED~n", [Mod, What]),
               [lists:flatten(io_lib:format("~s: ~s", [Mod, What]))]
       end || R <- Results]).

header() ->
    io:format("Supertester benchmark~n"),
    io:format("  erlang:  OTP ~s, erts ~s, ~s, ~b of ~b schedulers online, "
              "~b dirty CPU schedulers~n",
              [erlang:system_info(otp_release), erlang:system_info(version),
               erlang:system_info(emu_flavor),
               erlang:system_info(schedulers_online), erlang:system_info(schedulers),
               erlang:system_info(dirty_cpu_schedulers_online)]),
    io:format("  machine: ~s, ~s logical CPUs, ~s~n",
              [cpu_model(), cpus(), os_name()]),
    io:format("  code:    supertester ~s, bench ~s~n",
              [beam_dir(supertester_hist), beam_dir(?MODULE)]),
    io:format("  commit:  ~s~n", [commit()]),
    io:format("  load:    ~s (1, 5, 15 min) before the run; other work on the "
              "machine skews the timings, the concurrency line most~n", [loadavg()]),
    io:format("  reproduce: make bench (at the top), i.e. make -C bench run, which runs~n"
              "    erl -noshell -pa ~s -pa ~s -eval 'supertester_bench:main(), halt().'~n",
              [beam_dir(supertester_hist), beam_dir(?MODULE)]).

beam_dir(Mod) ->
    case code:which(Mod) of
        Path when is_list(Path) -> filename:dirname(Path);
        _ -> "(not found)"
    end.

cpu_model() ->
    case file:read_file("/proc/cpuinfo") of
        {ok, Bin} ->
            Lines = string:split(Bin, "\n", all),
            case [string:trim(V) || L <- Lines,
                                    [K, V] <- [string:split(L, ":")],
                                    string:trim(K) =:= <<"model name">>] of
                [Model | _] -> Model;
                [] -> "unknown cpu"
            end;
        {error, _} ->
            "unknown cpu (no /proc/cpuinfo)"
    end.

cpus() ->
    case erlang:system_info(logical_processors_available) of
        N when is_integer(N) -> integer_to_list(N);
        _ -> io_lib:format("~p", [erlang:system_info(logical_processors)])
    end.

os_name() ->
    {Family, Name} = os:type(),
    Release = case os:version() of
                  {A, B, C} -> io_lib:format("~b.~b.~b", [A, B, C]);
                  V -> V
              end,
    io_lib:format("~s/~s ~s", [Family, Name, Release]).

%% 1, 5 and 15 minute load averages, when the system tells them.
loadavg() ->
    case file:read_file("/proc/loadavg") of
        {ok, Bin} ->
            lists:join(" ", lists:sublist(string:lexemes(binary_to_list(Bin), " "), 3));
        {error, _} ->
            "unknown"
    end.

%% The commit of the tree benchmarked, when it is a git checkout.
commit() ->
    %% .../_build/default/lib/supertester/ebin -> the top of the tree
    Top = lists:foldl(fun(_, D) -> filename:dirname(D) end,
                      beam_dir(supertester_hist), lists:seq(1, 5)),
    Cmd = "git -C '" ++ Top ++ "' describe --always --dirty 2>/dev/null",
    case string:trim(os:cmd(Cmd)) of
        "" -> "unknown (no git commit)";
        Rev -> Rev
    end.
