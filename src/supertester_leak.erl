%% @doc assert_no_memory_leak: does memory grow with the number of times an
%% operation runs?
%%
%% The published 0.5.1 compares the first and last of five samples, which
%% flakes when a garbage collection lands between them and misses a leak
%% that the last sample happens to hide. Here the judgement is a regression:
%% <ol>
%% <li>The first tenth of the iterations (when there are at least 10) warm
%%   up caches, code loading and lazily built state; they are not sampled.</li>
%% <li>The remaining iterations are sampled at `samples' + 1 evenly spaced
%%   points (default 30 + 1). Before each sample every process is garbage
%%   collected (`gc' option: `all', the default, or `caller' as in 0.5.1),
%%   so the samples measure live data, not garbage waiting to be freed. The
%%   metric is `erlang:memory(total)', as in 0.5.1.</li>
%% <li>A least-squares line through the samples gives the growth per
%%   iteration (the slope) with its confidence interval.</li>
%% <li>It is a leak when the growth the slope predicts over the measured
%%   iterations exceeds `threshold' (default 0.1: 10%) of the memory at the
%%   start of the line, and the slope is significantly above zero
%%   (one-sided p below 0.01), so noise alone does not fail the test.</li>
%% </ol>
%% With fewer than three samples (one or two iterations) there is no
%% significance to test and the growth alone decides.
%%
%% The failure message shows the slope, its interval, r² and the samples.
%% The metric is VM-wide: in an async test suite, other tests' allocations
%% add noise (which the significance test absorbs) and a test elsewhere
%% that steadily fills a table during the check would be counted.
-module(supertester_leak).

-export([assert_no_leak/3]).

-define(OPTIONS, [threshold, samples, gc]).
-define(SLOPE_P_VALUE, 0.01).
%% How long one round of garbage collection of every process may take.
-define(GC_ROUND_TIMEOUT_MS, 5000).

-spec assert_no_leak(pos_integer(), fun(() -> term()), supertester_lib:options()) -> ok.
assert_no_leak(Iterations, Operation, Opts) ->
    supertester_lib:check_pos_integer(iterations, Iterations),
    _ = supertester_lib:check_fun(operation, Operation, 0),
    O = supertester_lib:options(assert_no_memory_leak, Opts, ?OPTIONS),
    Threshold = supertester_lib:check_non_neg_number(threshold, maps:get(threshold, O, 0.1)),
    SampleCount = supertester_lib:check_pos_integer(samples, maps:get(samples, O, 30)),
    Gc = check_gc(maps:get(gc, O, all)),

    Warmup = case Iterations >= 10 of
                 true -> Iterations div 10;
                 false -> 0
             end,
    Measured = Iterations - Warmup,
    Points = sample_points(Measured, min(SampleCount, Measured)),
    repeat(Operation, Warmup),
    Samples = collect(Operation, Points, 0, Gc, []),
    judge(Samples, Measured, Threshold).

check_gc(all) -> all;
check_gc(caller) -> caller;
check_gc(Other) -> supertester_lib:bad_arg(gc, Other, "all or caller").

%% Iteration counts at which to sample: 0, then Count evenly spaced up to N.
sample_points(N, Count) ->
    lists:usort([0 | [round(K * N / Count) || K <- lists:seq(1, Count)]]).

collect(_Operation, [], _Done, _Gc, Acc) ->
    lists:reverse(Acc);
collect(Operation, [Point | Rest], Done, Gc, Acc) ->
    repeat(Operation, Point - Done),
    collect_garbage(Gc),
    collect(Operation, Rest, Point, Gc, [{Point, erlang:memory(total)} | Acc]).

repeat(_Operation, 0) -> ok;
repeat(Operation, N) -> _ = Operation(), repeat(Operation, N - 1).

%% Asks every process to collect at once and waits for all the answers; a
%% process that cannot answer within the round's deadline (stuck in a long
%% NIF, say) is skipped rather than waited on.
collect_garbage(caller) ->
    erlang:garbage_collect();
collect_garbage(all) ->
    Ref = make_ref(),
    Others = [P || P <- processes(), P =/= self()],
    lists:foreach(fun(P) -> erlang:garbage_collect(P, [{async, Ref}]) end, Others),
    Deadline = erlang:monotonic_time(millisecond) + ?GC_ROUND_TIMEOUT_MS,
    await_gc(Ref, length(Others), Deadline),
    erlang:garbage_collect().

await_gc(_Ref, 0, _Deadline) -> ok;
await_gc(Ref, N, Deadline) ->
    Wait = max(0, Deadline - erlang:monotonic_time(millisecond)),
    receive
        {garbage_collect, Ref, _} -> await_gc(Ref, N - 1, Deadline)
    after Wait -> ok
    end.

judge(Samples, Measured, Threshold) ->
    case supertester_stats:regression(Samples) of
        {error, _} ->
            ok; % a single sample point: nothing ran after the warm-up
        Fit = #{slope := Slope, intercept := Intercept, slope_p_value := P} ->
            Baseline = max(Intercept, 1.0),
            Growth = Slope * Measured,
            Significant = case P of
                              undefined -> true;
                              _ -> Slope > 0 andalso P / 2 < ?SLOPE_P_VALUE
                          end,
            case Growth / Baseline > Threshold andalso Significant of
                false -> ok;
                true -> fail(Samples, Measured, Threshold, Fit, Growth, Baseline)
            end
    end.

-spec fail([{non_neg_integer(), non_neg_integer()}], pos_integer(), number(),
           supertester_stats:regression(), float(), float()) -> no_return().
fail(Samples, Measured, Threshold, Fit, Growth, Baseline) ->
    #{slope := Slope, r2 := R2, slope_ci_low := Lo, slope_ci_high := Hi} = Fit,
    Interval = case Lo of
                   undefined -> "";
                   _ -> io_lib:format(", 95% interval ~s..~s",
                                      [supertester_lib:format_number(Lo),
                                       supertester_lib:format_number(Hi)])
               end,
    Message =
        [io_lib:format("Memory leak detected: memory grows by ~s bytes per iteration~s "
                       "(r² ~s).~n",
                       [supertester_lib:format_number(Slope), Interval,
                        supertester_lib:format_number(R2)]),
         io_lib:format("Over ~b measured iterations that is ~s, ~s% of the ~s at the start, "
                       "above the ~s% threshold.~n",
                       [Measured, supertester_lib:format_bytes(Growth),
                        supertester_lib:format_number(100 * Growth / Baseline),
                        supertester_lib:format_bytes(Baseline),
                        supertester_lib:format_number(100 * Threshold)]),
         "Samples (iteration: erlang:memory(total)):\n",
         [io_lib:format("  ~b: ~b~n", [X, Y]) || {X, Y} <- Samples]],
    supertester_lib:assertion_failed(
      assert_no_memory_leak, Message,
      #{slope_bytes_per_iteration => Slope, growth_bytes => Growth,
        baseline_bytes => Baseline, threshold => Threshold, fit => Fit,
        samples => Samples}).
