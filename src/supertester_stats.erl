%% @doc Statistics from the C core, so that performance claims carry their
%% uncertainty: summaries with confidence intervals, least-squares
%% regression with the slope's significance, Welch's t-test, and the Holm
%% correction for several comparisons at once.
%%
%% ```
%% 1> supertester_stats:summary([10, 12, 11, 13, 12]).
%% #{n => 5, mean => 11.6, ci_low => 10.19..., ci_high => 13.0..., ...}
%% 2> maps:get(p_value, supertester_stats:welch([10,11,12,11], [20,21,19,22])).
%% 1.1...e-5
%% '''
%%
%% Quantities the data cannot define (a variance of one value, a standard
%% error without degrees of freedom) are `undefined'. Confidence levels are
%% fractions: 0.95 for 95%.
-module(supertester_stats).

-export([summary/1, summary/2, regression/1, regression/2, welch/2, welch/3,
         holm/2]).

-export_type([summary/0, regression/0, welch/0]).

-type maybe_float() :: float() | undefined.
-type summary() :: #{n := non_neg_integer(), mean := maybe_float(),
                     variance := maybe_float(), stddev := maybe_float(),
                     sem := maybe_float(), min := maybe_float(),
                     max := maybe_float(), ci_low := maybe_float(),
                     ci_high := maybe_float()}.
-type regression() :: #{n := pos_integer(), slope := float(), intercept := float(),
                        r2 := float(), slope_stderr := maybe_float(),
                        slope_ci_low := maybe_float(), slope_ci_high := maybe_float(),
                        slope_p_value := maybe_float(),
                        residual_stddev := maybe_float()}.
-type welch() :: #{mean_diff := float(), t := maybe_float(), df := float(),
                   p_value := float(), ci_low := float(), ci_high := float()}.

%% @equiv summary(Numbers, 0.95)
-spec summary([number()]) -> summary().
summary(Numbers) -> summary(Numbers, 0.95).

%% @doc Count, mean, sample variance and standard deviation, standard error,
%% min, max, and the confidence interval of the mean (Student's t).
-spec summary([number()], float()) -> summary().
summary(Numbers, Confidence) ->
    supertester_nif:stats_summary(Numbers, Confidence).

%% @equiv regression(Points, 0.95)
-spec regression([{number(), number()}]) -> regression() | {error, empty | degenerate}.
regression(Points) -> regression(Points, 0.95).

%% @doc Least-squares fit of Y = intercept + slope * X over `{X, Y}' points,
%% with r², the slope's standard error, its confidence interval and the
%% two-sided p-value of "the slope is zero". Needs two points with distinct
%% X (three for the standard error).
-spec regression([{number(), number()}], float()) ->
          regression() | {error, empty | degenerate}.
regression(Points, Confidence) ->
    supertester_nif:stats_regression(Points, Confidence).

%% @equiv welch(A, B, 0.95)
-spec welch([number()], [number()]) -> welch() | {error, empty}.
welch(A, B) -> welch(A, B, 0.95).

%% @doc Welch's t-test of "mean(A) equals mean(B)", for samples of unequal
%% size and variance: the difference of the means, t, the Welch-Satterthwaite
%% degrees of freedom, the two-sided p-value and the confidence interval of
%% the difference. Each sample needs at least two values.
-spec welch([number()], [number()], float()) -> welch() | {error, empty}.
welch(A, B, Confidence) ->
    supertester_nif:stats_welch(A, B, Confidence).

%% @doc Holm-Bonferroni correction for several tests made together.
%% Takes `{Key, PValue}' pairs and returns `{Key, AdjustedP, Significant}'
%% in the same order, where Significant means AdjustedP < Alpha. This keeps
%% the chance of any false "significant" among all the tests below Alpha.
-spec holm([{Key, float()}], float()) -> [{Key, float(), boolean()}] when Key :: term().
holm(Tests, Alpha) ->
    M = length(Tests),
    Ranked = lists:keysort(2, lists:zip(lists:seq(1, M), [P || {_, P} <- Tests])),
    {Adjusted, _, _} =
        lists:foldl(fun({Pos, P}, {Acc, Rank, Running}) ->
                            A = min(1.0, max(Running, (M - Rank + 1) * P)),
                            {Acc#{Pos => A}, Rank + 1, A}
                    end, {#{}, 1, 0.0}, Ranked),
    [{Key, maps:get(Pos, Adjusted), maps:get(Pos, Adjusted) < Alpha}
     || {Pos, {Key, _}} <- lists:zip(lists:seq(1, M), Tests)].
