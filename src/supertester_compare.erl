%% @doc compare_performance: which of several functions is faster, as a
%% statistical statement rather than one run each.
%%
%% How it measures:
%% <ol>
%% <li>Each function runs once to warm up, then is timed to choose a batch
%%   size: a function faster than 20 us is called several times per sample
%%   so that reading the clock (tens of ns) stays negligible. A sample is the
%%   mean time per call over its batch.</li>
%% <li>Samples are taken in rounds, one per function per round, the order
%%   rotating each round, so a machine that slows down mid-run slows every
%%   function alike.</li>
%% <li>Rounds continue until every function has `min_samples' (default 10)
%%   and the `time_budget_ms' (default 500, for the whole comparison) is
%%   spent, or `max_samples' (default 10,000) is reached. A slow function
%%   may take longer than the budget: min_samples wins.</li>
%% <li>Per function: percentiles from the C histogram, mean, standard
%%   deviation and the confidence interval of the mean (default 95%).</li>
%% <li>Every pair is compared with Welch's t-test; the p-values are
%%   Holm-corrected together, so `significant' holds at level `alpha'
%%   (default 0.05) across all the comparisons made.</li>
%% </ol>
%%
%% The result maps each name to the keys of 0.5.1 (`time_us', `memory_bytes',
%% `reductions', `result') plus the statistics. `time_us' is the median time
%% per call (a float: fast functions take well under a microsecond);
%% `memory_bytes', `reductions' and `result' come from one separate measured
%% run, exactly as measure_operation/1 reports them. Times of functions
%% below about 100 ns include the loop calling them (a few ns).
-module(supertester_compare).

-export([compare/2]).

-define(OPTIONS, [min_samples, max_samples, time_budget_ms, confidence, alpha]).
%% Target duration of one sample, in ns.
-define(SAMPLE_TARGET_NS, 20000).
-define(MAX_BATCH, 1000000).

-spec compare(#{term() => fun(() -> term())}, supertester_lib:options()) -> #{term() => map()}.
compare(Functions, Opts) ->
    Named = check_functions(Functions),
    O = supertester_lib:options(compare_performance, Opts, ?OPTIONS),
    MinSamples = supertester_lib:check_pos_integer(min_samples, maps:get(min_samples, O, 10)),
    MaxSamples = supertester_lib:check_pos_integer(max_samples, maps:get(max_samples, O, 10000)),
    BudgetMs = supertester_lib:check_non_neg_integer(time_budget_ms,
                                                     maps:get(time_budget_ms, O, 500)),
    Confidence = supertester_lib:check_fraction(confidence, maps:get(confidence, O, 0.95)),
    Alpha = supertester_lib:check_fraction(alpha, maps:get(alpha, O, 0.05)),
    MinSamples >= 2 orelse
        supertester_lib:bad_arg(min_samples, MinSamples, "at least 2 (a variance needs two samples)"),
    MaxSamples >= MinSamples orelse
        supertester_lib:bad_arg(max_samples, MaxSamples, "at least min_samples"),

    Plans = [{Name, Fun, calibrate(Fun)} || {Name, Fun} <- Named],
    Deadline = erlang:monotonic_time(millisecond) + BudgetMs,
    Samples = take_rounds(Plans, 0, MinSamples, MaxSamples, Deadline,
                          maps:from_list([{Name, []} || {Name, _} <- Named])),
    Results = maps:from_list(
                [{Name, describe(Fun, Batch, maps:get(Name, Samples), Confidence)}
                 || {Name, Fun, Batch} <- Plans]),
    add_comparisons(Results, Samples, Confidence, Alpha).

check_functions(Functions) when is_map(Functions), map_size(Functions) > 0 ->
    maps:foreach(fun(Name, Fun) ->
                         is_function(Fun, 0) orelse
                             supertester_lib:bad_arg(Name, Fun, "a function of arity 0")
                 end, Functions),
    lists:sort(maps:to_list(Functions));
check_functions(Other) ->
    supertester_lib:bad_arg(functions, Other, "a non-empty map of name => function of arity 0").

%% Calls per sample: enough for a sample to last about SAMPLE_TARGET_NS.
calibrate(Fun) ->
    _ = Fun(),
    Single = time_per_call(Fun, 1),
    First = batch_for(Single),
    case First of
        1 -> 1;
        _ -> batch_for(time_per_call(Fun, First))
    end.

batch_for(NsPerCall) ->
    max(1, min(?MAX_BATCH, ceil(?SAMPLE_TARGET_NS / max(NsPerCall, 1.0)))).

time_per_call(Fun, Batch) ->
    T0 = erlang:monotonic_time(nanosecond),
    run(Fun, Batch),
    T1 = erlang:monotonic_time(nanosecond),
    (T1 - T0) / Batch.

run(_Fun, 0) -> ok;
run(Fun, N) -> _ = Fun(), run(Fun, N - 1).

take_rounds(Plans, Round, Min, Max, Deadline, Acc) ->
    Order = rotate(Plans, Round rem length(Plans)),
    Acc1 = lists:foldl(fun({Name, Fun, Batch}, A) ->
                               maps:update_with(Name, fun(L) -> [time_per_call(Fun, Batch) | L] end, A)
                       end, Acc, Order),
    Taken = Round + 1,
    Done = Taken >= Max orelse
        (Taken >= Min andalso erlang:monotonic_time(millisecond) >= Deadline),
    case Done of
        true -> Acc1;
        false -> take_rounds(Plans, Taken, Min, Max, Deadline, Acc1)
    end.

rotate(List, N) ->
    {Front, Back} = lists:split(N, List),
    Back ++ Front.

describe(Fun, Batch, SamplesNs, Confidence) ->
    {ok, Hist} = supertester_hist:new(),
    lists:foreach(fun(Ns) -> supertester_hist:record(Hist, round(Ns)) end, SamplesNs),
    [P50, P90, P99, P999] = [V || {_, V} <- supertester_hist:percentiles(Hist, [50, 90, 99, 99.9])],
    S = supertester_stats:summary(SamplesNs, Confidence),
    Measured = supertester_performance:measure_operation(Fun),
    Measured#{time_us => us(P50),
              samples => length(SamplesNs),
              calls_per_sample => Batch,
              mean_us => us(maps:get(mean, S)),
              stddev_us => us(maps:get(stddev, S)),
              min_us => us(maps:get(min, S)),
              max_us => us(maps:get(max, S)),
              confidence => Confidence,
              ci_us => {us(maps:get(ci_low, S)), us(maps:get(ci_high, S))},
              percentiles => #{p50 => us(P50), p90 => us(P90), p99 => us(P99), p999 => us(P999)}}.

us(Ns) when is_number(Ns) -> Ns / 1000;
us(undefined) -> undefined.

add_comparisons(Results, Samples, Confidence, Alpha) ->
    Names = lists:sort(maps:keys(Results)),
    Pairs = [{A, B} || A <- Names, B <- Names, A < B],
    Tests = [{Pair, supertester_stats:welch(maps:get(A, Samples), maps:get(B, Samples), Confidence)}
             || {A, B} = Pair <- Pairs],
    Adjusted = supertester_stats:holm([{Pair, maps:get(p_value, W)} || {Pair, W} <- Tests], Alpha),
    Verdicts = lists:append(
                 [begin
                      W = proplists:get_value(Pair, Tests),
                      [{A, B, comparison(Results, A, B, W, P, Sig, 1)},
                       {B, A, comparison(Results, B, A, W, P, Sig, -1)}]
                  end || {{A, B} = Pair, P, Sig} <- Adjusted]),
    maps:map(fun(Name, Result) ->
                     Result#{comparisons => maps:from_list([{Other, C} || {N, Other, C} <- Verdicts,
                                                                         N =:= Name])}
             end, Results).

%% Sign is 1 when the Welch test was run as (This, Other), -1 when reversed.
comparison(Results, This, Other, Welch, AdjustedP, Significant, Sign) ->
    MeanThis = maps:get(mean_us, maps:get(This, Results)),
    MeanOther = maps:get(mean_us, maps:get(Other, Results)),
    #{mean_diff := Diff, ci_low := Lo, ci_high := Hi} = Welch,
    {DiffLo, DiffHi} = case Sign of
                           1 -> {Lo, Hi};
                           -1 -> {-Hi, -Lo}
                       end,
    Verdict = if
                  not Significant -> no_difference;
                  Sign * Diff < 0 -> faster;
                  true -> slower
              end,
    #{ratio => ratio(MeanThis, MeanOther),
      p_value => AdjustedP,
      significant => Significant,
      verdict => Verdict,
      difference_us => {us(DiffLo), us(DiffHi)}}.

ratio(_, Other) when Other == 0 -> undefined;
ratio(This, Other) -> This / Other.
