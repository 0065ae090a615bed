%% @doc Benchmark section: Supertester's histogram against the pure-Erlang
%% one a user might write (bench_erl_hist) and against an empty NIF call.
%%
%% Record cost. Each variant is a tight loop over the same pre-generated
%% list of values (fixed seed, log-uniform over 1 ns .. 10 s, so about
%% 24,000 buckets are used). Every repetition runs all variants, in an order
%% rotated from one repetition to the next, so machine noise hits them
%% alike; medians are reported. "net" subtracts the median of the empty loop
%% (walking the list and nothing else), leaving the cost of the call. The
%% ratios use supertester_nif:hist_record/2 called directly; the public
%% supertester_hist:record/2 (a remote call in front of it), the same
%% histogram on atomics and the Erlang bucket index alone are shown for
%% information.
%%
%% Percentile cost. 10,000,000 values are recorded into both histograms,
%% then p50/p99/p99.9 are computed repeatedly (medians reported) and once
%% exactly by sorting the values, for scale. Both histograms must report the
%% same values (same bucketing); a difference is printed, not hidden.
%%
%% Concurrency. Two processes, bound to different schedulers, record into
%% one shared histogram at once (Supertester, and the pure-Erlang one for
%% comparison); throughput and speedup over one process alone are printed
%% and the final count must be exactly what was recorded.
-module(bench_hist).

-export([run/0, run/1]).

-define(PS, [50, 99, 99.9]).

-define(DEFAULTS, #{record_calls => 2000000,      % values per record loop
                    record_reps => 5,             % repetitions of each
                    pct_values => 10000000,       % values behind the percentiles
                    pct_reps => 21,               % percentile computations timed
                    conc_procs => 2,              % concurrent recorders
                    conc_calls => 2000000,        % values per recorder
                    conc_reps => 5}).

-type result() :: {target | check, string(), boolean()}.

%% @doc Runs the section with the default sizes and prints it.
-spec run() -> [result()].
run() -> run(#{}).

%% @doc As run/0 with some sizes overridden (keys of ?DEFAULTS).
-spec run(map()) -> [result()].
run(Overrides) ->
    Cfg = maps:merge(?DEFAULTS, Overrides),
    ok = ensure_loaded([supertester_nif, bench_empty_nif]),
    io:format("~n== Histograms: record and percentiles ==~n"),
    T0 = erlang:monotonic_time(millisecond),
    All = values(maps:get(pct_values, Cfg)),
    Values = lists:sublist(All, maps:get(record_calls, Cfg)),
    R1 = record_section(Values, Cfg),
    R2 = percentile_section(All, Cfg),
    R3 = concurrency_section(Values, Cfg),
    io:format("~n(section took ~.1f s)~n",
              [(erlang:monotonic_time(millisecond) - T0) / 1000]),
    R1 ++ R2 ++ R3.

%% ---------------------------------------------------------------------------
%% Record

record_variants() ->
    [{empty_loop, "empty loop (list walk only)"},
     {empty_nif, "empty NIF: bench_empty_nif:empty/2"},
     {st_nif, "supertester NIF: supertester_nif:hist_record/2"},
     {st_api, "supertester API: supertester_hist:record/2"},
     {erl, "pure-Erlang counters: bench_erl_hist:record/2"},
     {erl_atomics, "pure-Erlang atomics (information)"},
     {erl_index, "pure-Erlang bucket index only (information)"}].

record_section(Values, Cfg) ->
    N = length(Values),
    Reps = maps:get(record_reps, Cfg),
    {ok, SH} = supertester_hist:new(),
    Hists = #{st => SH, erl => bench_erl_hist:new(),
              erl_atomics => bench_erl_hist:new(3600000000000, atomics)},
    Variants = [V || {V, _} <- record_variants()],
    %% One untimed pass of each: loads code, touches every page of both
    %% histograms.
    _ = [time_loop(V, Values, Hists) || V <- Variants],
    Samples = interleave(Variants, Reps,
                         fun(V) -> time_loop(V, Values, Hists) / N end),
    Med = maps:map(fun(_, Ts) -> bench_lib:median(Ts) end, Samples),
    Loop = maps:get(empty_loop, Med),
    io:format("~nrecord: ~b repetitions of ~s calls per variant, interleaved; "
              "median ns per call~n", [Reps, thousands(N)]),
    io:format("  ~-50s ~8s ~8s ~15s~n", ["variant", "ns/op", "net", "min..max"]),
    [begin
         Ts = maps:get(V, Samples),
         Net = case V of empty_loop -> "-"; _ -> fmt(maps:get(V, Med) - Loop) end,
         io:format("  ~-50s ~8s ~8s ~15s~n",
                   [Label, fmt(maps:get(V, Med)), Net,
                    fmt(lists:min(Ts)) ++ ".." ++ fmt(lists:max(Ts))])
     end || {V, Label} <- record_variants()],
    Net = fun(V) -> maps:get(V, Med) - Loop end,
    Raw = fun(V) -> maps:get(V, Med) end,
    NifRatio = Net(st_nif) / Net(empty_nif),
    ErlRatio = Net(erl) / Net(st_nif),
    ApiRatio = Net(erl) / Net(st_api),
    io:format("~n  net = ns/op minus the empty loop; ratios on net (on raw ns/op in brackets)~n"),
    io:format("  record: supertester NIF / empty NIF = ~.2fx [~.2fx] (target <= 2x): ~s~n",
              [NifRatio, Raw(st_nif) / Raw(empty_nif), verdict(NifRatio =< 2.0)]),
    io:format("  record: pure-Erlang counters / supertester NIF = ~.2fx faster [~.2fx] "
              "(target >= 1.5x): ~s~n",
              [ErlRatio, Raw(erl) / Raw(st_nif), verdict(ErlRatio >= 1.5)]),
    io:format("  record: pure-Erlang counters / supertester API (wrapper + NIF) = "
              "~.2fx faster [~.2fx] (information)~n",
              [ApiRatio, Raw(erl) / Raw(st_api)]),
    io:format("  record: pure-Erlang atomics / supertester NIF = ~.2fx faster [~.2fx] "
              "(information)~n",
              [Net(erl_atomics) / Net(st_nif), Raw(erl_atomics) / Raw(st_nif)]),
    [{target, "record <= 2x empty NIF", NifRatio =< 2.0},
     {target, "record >= 1.5x faster than pure Erlang", ErlRatio >= 1.5}].

time_loop(Variant, Values, Hists) ->
    H = case Variant of
            erl -> maps:get(erl, Hists);
            erl_atomics -> maps:get(erl_atomics, Hists);
            _ -> maps:get(st, Hists)
        end,
    T0 = erlang:monotonic_time(),
    ok = loop(Variant, Values, H),
    T1 = erlang:monotonic_time(),
    erlang:convert_time_unit(T1 - T0, native, nanosecond).

%% One specialised loop per variant: nothing but the call differs.
loop(empty_loop, Values, H) -> loop_empty(Values, H);
loop(empty_nif, Values, H) -> loop_empty_nif(Values, H);
loop(st_nif, Values, H) -> loop_st_nif(Values, H);
loop(st_api, Values, H) -> loop_st_api(Values, H);
loop(erl, Values, H) -> loop_erl(Values, H);
loop(erl_atomics, Values, H) -> loop_erl(Values, H);
loop(erl_index, Values, _H) -> loop_erl_index(Values).

loop_empty([_ | T], H) -> loop_empty(T, H);
loop_empty([], _) -> ok.

loop_empty_nif([V | T], H) -> _ = bench_empty_nif:empty(H, V), loop_empty_nif(T, H);
loop_empty_nif([], _) -> ok.

loop_st_nif([V | T], H) -> _ = supertester_nif:hist_record(H, V), loop_st_nif(T, H);
loop_st_nif([], _) -> ok.

loop_st_api([V | T], H) -> _ = supertester_hist:record(H, V), loop_st_api(T, H);
loop_st_api([], _) -> ok.

loop_erl([V | T], H) -> _ = bench_erl_hist:record(H, V), loop_erl(T, H);
loop_erl([], _) -> ok.

loop_erl_index([V | T]) -> _ = bench_erl_hist:index(V), loop_erl_index(T);
loop_erl_index([]) -> ok.

%% ---------------------------------------------------------------------------
%% Percentiles

percentile_section(All, Cfg) ->
    N = length(All),
    Reps = maps:get(pct_reps, Cfg),
    {ok, SH} = supertester_hist:new(),
    EH = bench_erl_hist:new(),
    {FillSt, ok} = timed(fun() -> loop_st_nif(All, SH) end),
    {FillErl, ok} = timed(fun() -> loop_erl(All, EH) end),
    io:format("~npercentiles p50/p99/p99.9 over ~s recorded values "
              "(filled in ~.2f s through the NIF, ~.2f s in pure Erlang)~n",
              [thousands(N), FillSt / 1.0e9, FillErl / 1.0e9]),
    StCount = maps:get(count, supertester_hist:summary(SH)),
    {ErlCount, ErlOut} = bench_erl_hist:count(EH),
    Fns = #{st => fun() -> supertester_hist:percentiles(SH, ?PS) end,
            erl => fun() -> bench_erl_hist:percentiles(EH, ?PS) end},
    _ = [F() || F <- maps:values(Fns)],
    Samples = interleave([st, erl], Reps,
                         fun(K) -> element(1, timed(maps:get(K, Fns))) end),
    StT = bench_lib:median(maps:get(st, Samples)),
    ErlT = bench_lib:median(maps:get(erl, Samples)),
    StPs = supertester_hist:percentiles(SH, ?PS),
    ErlPs = bench_erl_hist:percentiles(EH, ?PS),
    {SortT, ExactPs} = timed(fun() -> exact_percentiles(All, ?PS) end),
    io:format("  ~-50s ~12s~n", ["method (median of " ++ integer_to_list(Reps) ++
                                     " runs; sort: once)", "time"]),
    io:format("  ~-50s ~12s~n", ["supertester: supertester_hist:percentiles/2",
                                 fmt_time(StT)]),
    io:format("  ~-50s ~12s~n", ["pure-Erlang counters: bench_erl_hist:percentiles/2",
                                 fmt_time(ErlT)]),
    io:format("  ~-50s ~12s~n", ["exact: lists:sort/1 + lists:nth/2", fmt_time(SortT)]),
    io:format("~n  percentiles over ~s values: pure-Erlang / supertester = ~.1fx~n",
              [thousands(N), ErlT / StT]),
    io:format("  percentiles over ~s values: sort / supertester = ~sx~n",
              [thousands(N), thousands(round(SortT / StT))]),
    io:format("~n  ~-8s ~14s ~14s ~14s ~10s~n",
              ["p", "supertester", "pure-Erlang", "exact (sort)", "hist err"]),
    lists:foreach(
      fun({{P, S}, {P, E}, {P, X}}) ->
              io:format("  ~-8s ~14s ~14s ~14s ~9.3f%~n",
                        [fmt_p(P), thousands(S), thousands(E), thousands(X),
                         100 * (S - X) / X])
      end, lists:zip3(StPs, ErlPs, ExactPs)),
    Same = StPs =:= ErlPs,
    case Same of
        true ->
            io:format("  check: supertester and pure-Erlang percentiles identical: ok~n");
        false ->
            io:format("  check: supertester and pure-Erlang percentiles DIFFER:~n"),
            [io:format("    p~s: supertester ~b, pure-Erlang ~b (difference ~b)~n",
                       [fmt_p(P), S, E, S - E])
             || {{P, S}, {P, E}} <- lists:zip(StPs, ErlPs), S =/= E]
    end,
    CountsOk = StCount =:= N andalso ErlCount =:= N andalso ErlOut =:= 0,
    io:format("  check: both histograms hold exactly ~s values "
              "(supertester ~s, pure-Erlang ~s): ~s~n",
              [thousands(N), thousands(StCount), thousands(ErlCount), okfail(CountsOk)]),
    [{check, "percentiles identical (supertester vs pure Erlang)", Same},
     {check, "percentile histograms hold every value", CountsOk}].

exact_percentiles(All, Ps) ->
    Sorted = lists:sort(All),
    N = length(Sorted),
    [{P, lists:nth(rank(P, N), Sorted)} || P <- Ps].

%% Nearest rank, as the C core and bench_erl_hist compute it.
rank(P, N) ->
    X = P / 100 * N,
    F = floor(X),
    R = case X - F =< 1.0e-9 * max(X, 1.0) of
            true -> F;
            false -> F + 1
        end,
    min(max(R, 1), N).

%% ---------------------------------------------------------------------------
%% Concurrency

concurrency_section(Values, Cfg) ->
    Procs = maps:get(conc_procs, Cfg),
    Calls = min(maps:get(conc_calls, Cfg), length(Values)),
    Reps = maps:get(conc_reps, Cfg),
    Mine = lists:sublist(Values, Calls),
    Scheds = erlang:system_info(schedulers_online),
    %% Each rep: one process alone, then Procs at once, for both histograms.
    Runs = [{K, NP, concurrent_run(K, NP, Mine)}
            || _ <- lists:seq(1, Reps), K <- [st, erl], NP <- lists:usort([1, Procs])],
    Wall = fun(K, NP) -> bench_lib:median([W || {K1, NP1, {W, _, _}} <- Runs, K1 =:= K, NP1 =:= NP]) end,
    Bound = lists:all(fun({_, _, {_, _, B}}) -> B end, Runs),
    io:format("~nconcurrency: ~b processes each recording ~s values into one shared "
              "histogram at once, ~s; median of ~b~n",
              [Procs, thousands(Calls),
               case Bound of
                   true -> io_lib:format("bound to schedulers 1..~b of ~b",
                                         [min(Procs, Scheds), Scheds]);
                   false -> io_lib:format("left to the VM's scheduling (~b schedulers)",
                                          [Scheds])
               end, Reps]),
    [begin
         W = Wall(K, Procs),
         W1 = Wall(K, 1),
         io:format("  ~-22s ~6.1f M records/s, ~5.1f ns per record overall "
                   "(1 process alone: ~5.1f ns; speedup ~.2fx)~n",
                   [Label, Procs * Calls / W * 1000, W / (Procs * Calls), W1 / Calls,
                    (W1 / Calls) / (W / (Procs * Calls))])
     end || {K, Label} <- [{st, "supertester NIF:"}, {erl, "pure-Erlang counters:"}]],
    Exact = fun(K) -> lists:all(fun({K1, NP, {_, Count, _}}) ->
                                        K1 =/= K orelse Count =:= NP * Calls
                                end, Runs)
            end,
    Ok = Exact(st),
    ErlOk = Exact(erl),
    io:format("  check: supertester final count exactly ~s (~b x ~s) in every run: ~s~n",
              [thousands(Procs * Calls), Procs, thousands(Calls), okfail(Ok)]),
    io:format("  check: pure-Erlang final count exactly ~s in every run: ~s~n",
              [thousands(Procs * Calls), okfail(ErlOk)]),
    [{check, "concurrent records all counted (supertester)", Ok},
     {check, "concurrent records all counted (pure Erlang)", ErlOk}].

%% Procs processes record Values into one fresh histogram, started together;
%% {WallNs, FinalCount, BoundToSchedulers}. Process I is bound to scheduler
%% I (modulo the schedulers online) with spawn_opt's {scheduler, I}, an
%% option OTP accepts but does not document: without it two fresh processes
%% often share one scheduler for the whole run. Where it is refused they are
%% spawned unbound and the header says so.
concurrent_run(Kind, Procs, Values) ->
    {H, Count} =
        case Kind of
            st ->
                {ok, SH} = supertester_hist:new(),
                {SH, fun() -> maps:get(count, supertester_hist:summary(SH)) end};
            erl ->
                EH = bench_erl_hist:new(),
                {EH, fun() -> element(1, bench_erl_hist:count(EH)) end}
        end,
    Parent = self(),
    Worker = fun() ->
                     Parent ! {ready, self()},
                     receive go -> ok end,
                     ok = case Kind of
                              st -> loop_st_nif(Values, H);
                              erl -> loop_erl(Values, H)
                          end,
                     Parent ! {done, self()}
             end,
    Scheds = erlang:system_info(schedulers_online),
    Spawned = [spawn_bound(Worker, (I - 1) rem Scheds + 1) || I <- lists:seq(1, Procs)],
    Pids = [P || {P, _} <- Spawned],
    [receive {ready, P} -> ok end || P <- Pids],
    T0 = erlang:monotonic_time(),
    [P ! go || P <- Pids],
    [receive {done, P} -> ok end || P <- Pids],
    T1 = erlang:monotonic_time(),
    {erlang:convert_time_unit(T1 - T0, native, nanosecond), Count(),
     lists:all(fun({_, B}) -> B end, Spawned)}.

spawn_bound(Fun, Scheduler) ->
    try
        {spawn_opt(Fun, [link, {scheduler, Scheduler}]), true}
    catch
        error:badarg -> {spawn_opt(Fun, [link]), false}
    end.

%% ---------------------------------------------------------------------------
%% Helpers

%% N pseudo-random values, log-uniform over 1 .. 10^10 (1 ns .. 10 s),
%% always the same ones.
values(N) ->
    values(N, rand:seed_s(exsss, {1, 2, 3}), math:log(1.0e10), []).

values(0, _S, _L, Acc) -> Acc;
values(N, S0, L, Acc) ->
    {U, S} = rand:uniform_s(S0),
    values(N - 1, S, L, [round(math:exp(U * L)) | Acc]).

%% #{Key => [Sample]}: Reps rounds over Keys, each round starting one
%% further along the list.
interleave(Keys, Reps, Measure) ->
    Len = length(Keys),
    lists:foldl(
      fun(Rep, Acc) ->
              {A, B} = lists:split(Rep rem Len, Keys),
              lists:foldl(fun(K, Acc1) ->
                                  T = Measure(K),
                                  maps:update_with(K, fun(Ts) -> [T | Ts] end, [T], Acc1)
                          end, Acc, B ++ A)
      end, #{}, lists:seq(0, Reps - 1)).

timed(F) ->
    T0 = erlang:monotonic_time(),
    R = F(),
    T1 = erlang:monotonic_time(),
    {erlang:convert_time_unit(T1 - T0, native, nanosecond), R}.

ensure_loaded(Mods) ->
    lists:foreach(
      fun(M) ->
              case code:ensure_loaded(M) of
                  {module, M} ->
                      ok;
                  {error, Why} ->
                      io:format("~ncannot load ~s (~p); its NIF library is expected at ~s~n"
                                "  build: make (at the top) for supertester_nif, "
                                "make -C bench run for bench_empty_nif~n",
                                [M, Why, expected_library(M)]),
                      exit({cannot_load, M, Why})
              end
      end, Mods).

expected_library(bench_empty_nif) ->
    case os:getenv("BENCH_EMPTY_NIF_PATH") of
        Path when is_list(Path), Path =/= "" -> Path ++ ".so";
        _ -> expected_library(bench_empty_nif, code:which(bench_empty_nif))
    end;
expected_library(M) ->
    expected_library(M, code:which(M)).

expected_library(M, Which) ->
    case Which of
        Beam when is_list(Beam) ->
            Ebin = filename:dirname(Beam),
            case M of
                supertester_nif ->
                    filename:join([filename:dirname(Ebin), "priv", "supertester_nif.so"]);
                _ ->
                    filename:join(Ebin, atom_to_list(M) ++ ".so")
            end;
        _ ->
            "(module not on the code path)"
    end.

verdict(true) -> "met";
verdict(false) -> "NOT MET".

okfail(true) -> "ok";
okfail(false) -> "FAILED".

fmt(X) -> float_to_list(float(X), [{decimals, 1}]).

fmt_p(P) when is_integer(P) -> integer_to_list(P);
fmt_p(P) -> float_to_list(P, [short]).

fmt_time(Ns) when Ns < 1.0e3 -> io_lib:format("~.0f ns", [float(Ns)]);
fmt_time(Ns) when Ns < 1.0e6 -> io_lib:format("~.1f us", [Ns / 1.0e3]);
fmt_time(Ns) when Ns < 1.0e9 -> io_lib:format("~.2f ms", [Ns / 1.0e6]);
fmt_time(Ns) -> io_lib:format("~.2f s", [Ns / 1.0e9]).

thousands(N) when is_integer(N) -> bench_lib:thousands(N);
thousands(X) -> io_lib:format("~p", [X]).
