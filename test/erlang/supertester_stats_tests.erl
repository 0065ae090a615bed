%% supertester_stats through its public API: reference values computed by
%% hand (or by the textbook formulas in the test) rather than by the C code.
-module(supertester_stats_tests).

-include_lib("eunit/include/eunit.hrl").

-define(near(Expected, Actual, Tol), ?assert(abs((Expected) - (Actual)) =< (Tol))).

summary_test() ->
    S = supertester_stats:summary([2, 4, 4, 4, 5, 5, 7, 9]),
    ?assertMatch(#{n := 8, min := 2.0, max := 9.0}, S),
    ?near(5.0, maps:get(mean, S), 1.0e-12),
    %% Sample variance: 32 / 7.
    ?near(32 / 7, maps:get(variance, S), 1.0e-12),
    ?near(math:sqrt(32 / 7) / math:sqrt(8), maps:get(sem, S), 1.0e-12),
    %% 95% interval with t(0.975, 7) = 2.364624252.
    Half = 2.364624252 * math:sqrt(32 / 7) / math:sqrt(8),
    ?near(5.0 - Half, maps:get(ci_low, S), 1.0e-8),
    ?near(5.0 + Half, maps:get(ci_high, S), 1.0e-8).

summary_edge_cases_test() ->
    ?assertMatch(#{n := 0, mean := undefined, variance := undefined, ci_low := undefined},
                 supertester_stats:summary([])),
    ?assertMatch(#{n := 1, mean := 3.0, variance := undefined, stddev := undefined},
                 supertester_stats:summary([3])),
    ?assertError({badarg, x}, supertester_stats:summary([1, x])),
    ?assertError({badarg, 1.5}, supertester_stats:summary([1, 2], 1.5)),
    ?assertError({badarg, not_a_list}, supertester_stats:summary(not_a_list)).

regression_recovers_a_line_test() ->
    Points = [{X, 3 + 2 * X} || X <- lists:seq(0, 10)],
    R = supertester_stats:regression(Points),
    ?near(2.0, maps:get(slope, R), 1.0e-12),
    ?near(3.0, maps:get(intercept, R), 1.0e-12),
    ?near(1.0, maps:get(r2, R), 1.0e-12),
    ?assertEqual(0.0, maps:get(slope_p_value, R)).

regression_on_noise_is_not_significant_test() ->
    %% y alternates around a constant: slope 0 and a p-value far from zero.
    Points = [{X, 100 + (X rem 2) * 10} || X <- lists:seq(1, 20)],
    R = supertester_stats:regression(Points),
    ?assert(abs(maps:get(slope, R)) < 1.0),
    ?assert(maps:get(slope_p_value, R) > 0.1).

regression_edge_cases_test() ->
    ?assertEqual({error, empty}, supertester_stats:regression([{1, 1}])),
    ?assertEqual({error, degenerate}, supertester_stats:regression([{1, 1}, {1, 2}, {1, 3}])),
    ?assertMatch(#{n := 2, slope := 1.0, slope_stderr := undefined},
                 supertester_stats:regression([{0, 0}, {1, 1}])),
    ?assertError({badarg, {1, 2, 3}}, supertester_stats:regression([{1, 2, 3}])).

welch_test() ->
    A = [19.8, 20.4, 19.6, 17.8, 18.5, 18.9, 18.3, 18.9, 19.5, 22.0],
    B = [28.2, 26.6, 20.1, 23.3, 25.2, 22.1, 17.7, 27.6, 20.6, 13.7,
         23.2, 17.5, 20.6, 18.0, 23.9, 21.6, 24.3, 20.4, 23.9, 13.3],
    W = supertester_stats:welch(A, B),
    %% The textbook formulas, computed here independently of the C code.
    {MA, VA} = mean_var(A),
    {MB, VB} = mean_var(B),
    SeA = VA / length(A),
    SeB = VB / length(B),
    T = (MA - MB) / math:sqrt(SeA + SeB),
    Df = (SeA + SeB) * (SeA + SeB) /
        (SeA * SeA / (length(A) - 1) + SeB * SeB / (length(B) - 1)),
    ?near(T, maps:get(t, W), 1.0e-9),
    ?near(Df, maps:get(df, W), 1.0e-9),
    ?near(MA - MB, maps:get(mean_diff, W), 1.0e-9),
    %% Published result for this pair: t = -2.22, df = 24.9, p = 0.036.
    ?near(-2.22, maps:get(t, W), 0.01),
    ?near(0.036, maps:get(p_value, W), 0.001),
    ?assert(maps:get(ci_low, W) < MA - MB andalso MA - MB < maps:get(ci_high, W)).

welch_edge_cases_test() ->
    ?assertEqual({error, empty}, supertester_stats:welch([1], [1, 2])),
    ?assertMatch(#{p_value := 1.0}, supertester_stats:welch([5, 5, 5], [5, 5])),
    ?assertMatch(#{p_value := 0.0, t := undefined}, supertester_stats:welch([5, 5, 5], [6, 6])).

holm_test() ->
    %% Sorted p: 0.01 (x3 = 0.03), 0.02 (x2 = 0.04), 0.04 (x1 = 0.04).
    ?assertEqual([{a, 0.04, true}, {b, 0.03, true}, {c, 0.04, true}],
                 [{K, round_to(P, 10), S} || {K, P, S} <- supertester_stats:holm(
                                                            [{a, 0.04}, {b, 0.01}, {c, 0.02}], 0.05)]),
    %% Adjusted p-values never decrease with rank: 0.45 x 2 = 0.9, then
    %% max(0.9, 0.9 x 1) = 0.9.
    ?assertEqual([{a, 0.9, false}, {b, 0.9, false}],
                 [{K, round_to(P, 10), S} || {K, P, S} <- supertester_stats:holm(
                                                            [{a, 0.9}, {b, 0.45}], 0.05)]),
    %% And are capped at 1: 0.6 x 2 = 1.2.
    ?assertEqual([{a, 1.0, false}, {b, 1.0, false}],
                 [{K, round_to(P, 10), S} || {K, P, S} <- supertester_stats:holm(
                                                            [{a, 0.6}, {b, 0.7}], 0.05)]).

mean_var(Xs) ->
    N = length(Xs),
    M = lists:sum(Xs) / N,
    {M, lists:sum([(X - M) * (X - M) || X <- Xs]) / (N - 1)}.

round_to(X, Digits) ->
    F = math:pow(10, Digits),
    round(X * F) / F.
