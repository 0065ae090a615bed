%% supertester_hist through its public API, on the real NIF.
-module(supertester_hist_tests).

-include_lib("eunit/include/eunit.hrl").

-define(BADARG(Expr), ?assertError({badarg, _}, Expr)).

defaults_test() ->
    {ok, H} = supertester_hist:new(),
    ?assertEqual(#{highest_trackable => 3600000000000, significant_digits => 3,
                   bucket_count => 33421, memory => maps:get(memory, supertester_hist:info(H))},
                 supertester_hist:info(H)),
    ?assert(maps:get(memory, supertester_hist:info(H)) >= 33421 * 8).

empty_histogram_is_defined_test() ->
    {ok, H} = supertester_hist:new(),
    ?assertEqual(#{count => 0, out_of_range => 0, min => undefined, max => undefined,
                   mean => undefined, stddev => undefined},
                 supertester_hist:summary(H)),
    ?assertEqual(undefined, supertester_hist:percentile(H, 50)),
    ?assertEqual([{50, undefined}, {99, undefined}], supertester_hist:percentiles(H, [50, 99])),
    ?assertEqual([], supertester_hist:buckets(H)).

one_value_is_exact_test() ->
    {ok, H} = supertester_hist:new(),
    ok = supertester_hist:record(H, 1234567),
    #{count := 1, min := 1234567, max := 1234567, mean := Mean, stddev := Sd} =
        supertester_hist:summary(H),
    ?assertEqual(1234567.0, Mean),
    ?assertEqual(0.0, Sd),
    [?assertEqual(1234567, supertester_hist:percentile(H, P)) || P <- [0, 1, 50, 99.9, 100]].

zero_is_a_value_test() ->
    {ok, H} = supertester_hist:new(),
    ok = supertester_hist:record(H, 0),
    ok = supertester_hist:record(H, 0, 9),
    ?assertMatch(#{count := 10, min := 0, max := 0}, supertester_hist:summary(H)),
    ?assertEqual([{0, 0, 10}], supertester_hist:buckets(H)).

percentiles_of_one_to_thousand_test() ->
    {ok, H} = supertester_hist:new(),
    [ok = supertester_hist:record(H, N) || N <- lists:seq(1, 1000)],
    %% Below 2048 every value has its own bucket, so these are exact.
    ?assertEqual([{0, 1}, {50, 500}, {90, 900}, {99, 990}, {99.9, 999}, {100, 1000}],
                 supertester_hist:percentiles(H, [0, 50, 90, 99, 99.9, 100])),
    ?assertMatch(#{count := 1000, mean := 500.5}, supertester_hist:summary(H)).

precision_matches_significant_digits_test() ->
    %% Large values share buckets; the error stays below 10^-digits.
    lists:foreach(
      fun(Digits) ->
              {ok, H} = supertester_hist:new([{digits, Digits}]),
              Values = [round(math:pow(1.37, K)) || K <- lists:seq(1, 80)],
              [ok = supertester_hist:record(H, V) || V <- Values],
              Sorted = lists:sort(Values),
              lists:foreach(
                fun(P) ->
                        %% Nearest rank, in integers: ceil(P * N / 100).
                        Exact = lists:nth(max(1, (P * length(Sorted) + 99) div 100), Sorted),
                        Got = supertester_hist:percentile(H, P),
                        ?assert(Got >= Exact),
                        ?assert(Got - Exact =< Exact * math:pow(10, -Digits))
                end, [10, 25, 50, 75, 90, 99])
      end, [1, 2, 3, 4, 5]).

out_of_range_is_counted_not_recorded_test() ->
    {ok, H} = supertester_hist:new(#{highest => 1000}),
    ok = supertester_hist:record(H, 1000),
    ?assertEqual({error, out_of_range}, supertester_hist:record(H, 1001)),
    ?assertEqual({error, out_of_range}, supertester_hist:record(H, 5000, 3)),
    ?assertMatch(#{count := 1, out_of_range := 4, max := 1000}, supertester_hist:summary(H)).

merge_and_reset_test() ->
    {ok, A} = supertester_hist:new(),
    {ok, B} = supertester_hist:new([{digits, 2}]),
    [ok = supertester_hist:record(A, N) || N <- lists:seq(1, 100)],
    [ok = supertester_hist:record(B, N * 1000) || N <- lists:seq(1, 100)],
    ok = supertester_hist:merge(A, B),
    ?assertMatch(#{count := 200, min := 1, max := 100000}, supertester_hist:summary(A)),
    ok = supertester_hist:reset(A),
    ?assertMatch(#{count := 0}, supertester_hist:summary(A)),
    ok = supertester_hist:record(A, 7),
    ?assertEqual(7, supertester_hist:percentile(A, 50)).

merge_into_smaller_range_counts_dropped_values_test() ->
    {ok, Small} = supertester_hist:new(#{highest => 100}),
    {ok, Big} = supertester_hist:new(),
    [ok = supertester_hist:record(Big, V) || V <- [10, 20, 1000000]],
    ok = supertester_hist:merge(Small, Big),
    ?assertMatch(#{count := 2, out_of_range := 1, max := 20}, supertester_hist:summary(Small)).

buckets_cover_the_values_test() ->
    {ok, H} = supertester_hist:new(),
    Values = [5, 5, 3000, 3001, 123456789],
    [ok = supertester_hist:record(H, V) || V <- Values],
    Buckets = supertester_hist:buckets(H),
    ?assertEqual(length(Values), lists:sum([C || {_, _, C} <- Buckets])),
    ?assertEqual(lists:sort(Buckets), Buckets),
    [?assert(lists:any(fun({Lo, Hi, _}) -> V >= Lo andalso V =< Hi end, Buckets)) || V <- Values].

%% Many processes record into one histogram at once: not one count is lost.
concurrent_recording_loses_nothing_test() ->
    {ok, H} = supertester_hist:new(),
    Parent = self(),
    Writers = 8,
    PerWriter = 50000,
    Pids = [spawn_link(fun() ->
                               [ok = supertester_hist:record(H, (I * 7919 + W) rem 100000)
                                || I <- lists:seq(1, PerWriter)],
                               Parent ! {done, self()}
                       end) || W <- lists:seq(1, Writers)],
    [receive {done, P} -> ok end || P <- Pids],
    ?assertMatch(#{count := 400000}, supertester_hist:summary(H)),
    ?assertEqual(Writers * PerWriter, lists:sum([C || {_, _, C} <- supertester_hist:buckets(H)])).

%% A five-digit histogram has 3.4 million buckets: walking it runs dirty and
%% still answers correctly.
large_histogram_test() ->
    {ok, H} = supertester_hist:new([{digits, 5}]),
    #{bucket_count := Buckets} = supertester_hist:info(H),
    ?assert(Buckets > 250000),
    [ok = supertester_hist:record(H, V) || V <- [1, 1000000, 1000000000000]],
    %% 10^6 shares a 4-wide bucket: reported as its top, within 10^-5.
    ?assertEqual(1000003, supertester_hist:percentile(H, 50)),
    ?assertMatch(#{count := 3}, supertester_hist:summary(H)),
    ?assertEqual(3, length(supertester_hist:buckets(H))),
    ok = supertester_hist:reset(H),
    ?assertMatch(#{count := 0}, supertester_hist:summary(H)).

bad_arguments_name_the_term_test() ->
    {ok, H} = supertester_hist:new(),
    ?assertError({badarg, -1}, supertester_hist:record(H, -1)),
    ?assertError({badarg, 1.5}, supertester_hist:record(H, 1.5)),
    ?assertError({badarg, not_a_hist}, supertester_hist:record(not_a_hist, 1)),
    ?assertError({badarg, 101}, supertester_hist:percentile(H, 101)),
    ?assertError({badarg, 6}, supertester_hist:new([{digits, 6}])),
    ?assertError({badarg, 1}, supertester_hist:new([{highest, 1}])),
    ?BADARG(supertester_hist:new([{precision, 3}])),
    ?BADARG(supertester_hist:percentiles(H, [50 | bad])),
    ?BADARG(supertester_hist:merge(H, make_ref())).
