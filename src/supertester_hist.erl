%% @doc Latency histograms from the C core: log-linear buckets in the spirit
%% of HdrHistogram, lock-free recording from any number of processes.
%%
%% Values are non-negative integers in a unit of your choosing (Supertester
%% records nanoseconds). A value is reported back within a relative error
%% below 10^-Digits, and exact below 2 x 10^Digits. Percentiles use the
%% nearest-rank definition and report the top of the value's bucket, clamped
%% to the exact min and max, so they never under-report a latency.
%%
%% ```
%% 1> {ok, H} = supertester_hist:new().
%% 2> [supertester_hist:record(H, N) || N <- lists:seq(1, 1000)], ok.
%% 3> supertester_hist:percentiles(H, [50, 99, 99.9]).
%% [{50,500},{99,990},{99.9,999}]
%% 4> maps:get(mean, supertester_hist:summary(H)).
%% 500.5
%% '''
%%
%% Memory: 8 bytes per bucket; the default (3 digits, values up to one hour
%% in nanoseconds) has 33,421 buckets, 267 KB. A histogram is freed when the
%% last term referring to it is garbage collected. Walking a large histogram
%% (more than 250,000 buckets) runs on a dirty scheduler.
-module(supertester_hist).

-export([new/0, new/1, record/2, record/3, merge/2, reset/1, summary/1,
         percentile/2, percentiles/2, buckets/1, info/1]).

-export_type([hist/0, summary/0]).

-opaque hist() :: reference().
-type summary() :: #{count := non_neg_integer(),
                     out_of_range := non_neg_integer(),
                     min := non_neg_integer() | undefined,
                     max := non_neg_integer() | undefined,
                     mean := float() | undefined,
                     stddev := float() | undefined}.

-define(ONE_HOUR_NS, 3600000000000).

%% @equiv new([])
-spec new() -> {ok, hist()}.
new() -> new([]).

%% @doc A new, empty histogram. Options:
%% <ul>
%% <li>`highest' (default 3,600,000,000,000: one hour in ns): the largest
%%   value that can be recorded, 2..2^62;</li>
%% <li>`digits' (default 3): significant digits, 1..5.</li>
%% </ul>
-spec new(supertester_lib:options()) -> {ok, hist()}.
new(Opts) ->
    O = supertester_lib:options(?FUNCTION_NAME, Opts, [highest, digits]),
    supertester_nif:hist_new(maps:get(highest, O, ?ONE_HOUR_NS), maps:get(digits, O, 3)).

%% @doc Records one value. A value above the highest trackable one is not
%% recorded; it is counted in `out_of_range'.
-spec record(hist(), non_neg_integer()) -> ok | {error, out_of_range}.
record(Hist, Value) -> supertester_nif:hist_record(Hist, Value).

%% @doc Records `Count' occurrences of a value.
-spec record(hist(), non_neg_integer(), non_neg_integer()) -> ok | {error, out_of_range}.
record(Hist, Value, Count) -> supertester_nif:hist_record_n(Hist, Value, Count).

%% @doc Adds every count of `Src' to `Dst'. Histograms of different
%% precision or range can be merged; values `Dst' cannot hold are counted in
%% its `out_of_range'.
-spec merge(Dst :: hist(), Src :: hist()) -> ok.
merge(Dst, Src) ->
    {ok, _Dropped} = supertester_nif:hist_merge(Dst, Src),
    ok.

%% @doc Forgets every recorded value.
-spec reset(hist()) -> ok.
reset(Hist) -> supertester_nif:hist_reset(Hist).

%% @doc Count, exact min and max, mean and (population) standard deviation.
%% On an empty histogram count is 0 and the others are `undefined'.
-spec summary(hist()) -> summary().
summary(Hist) -> supertester_nif:hist_summary(Hist).

%% @doc The value at percentile P (0..100); `undefined' when empty.
-spec percentile(hist(), number()) -> non_neg_integer() | undefined.
percentile(Hist, P) ->
    case supertester_nif:hist_percentiles(Hist, [P]) of
        [Value] -> Value;
        {error, empty} -> undefined
    end.

%% @doc Several percentiles in one pass over the buckets, as `{P, Value}'.
-spec percentiles(hist(), [number()]) -> [{number(), non_neg_integer() | undefined}].
percentiles(Hist, Ps) ->
    case supertester_nif:hist_percentiles(Hist, Ps) of
        {error, empty} -> [{P, undefined} || P <- Ps];
        Values -> lists:zip(Ps, Values)
    end.

%% @doc The non-empty buckets in increasing order, as
%% `{Lowest, Highest, Count}': every value in Lowest..Highest shares a bucket.
-spec buckets(hist()) -> [{non_neg_integer(), non_neg_integer(), pos_integer()}].
buckets(Hist) -> supertester_nif:hist_buckets(Hist).

%% @doc Configuration and size: `highest_trackable', `significant_digits',
%% `bucket_count' and `memory' (bytes).
-spec info(hist()) -> #{atom() => non_neg_integer()}.
info(Hist) -> supertester_nif:hist_info(Hist).
