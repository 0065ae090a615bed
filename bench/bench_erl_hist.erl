%% @doc The pure-Erlang histogram the benchmark compares Supertester with:
%% what a competent user might write on `counters' instead of using the NIF.
%%
%% Same bucketing as the C core (c_src/core/hist.c) with 3 significant
%% digits: M = 11 sub-bucket bits, half = 1024; a value V lands in
%%   G = max(0, msb(V) - 10),  Index = G * 1024 + (V bsr G),
%% so values below 2048 are exact and every power-of-two range above is
%% split into 1024 buckets. The number of significant digits is fixed at
%% compile time (Supertester takes it at run time), which only helps this
%% side.
%%
%% Storage is one `counters' array made with `write_concurrency' (one slot
%% per bucket plus one for out-of-range values), so any number of processes
%% can record at once and concurrent adds never contend on one cache line.
%% `new(Highest, atomics)' stores the buckets in an `atomics' array instead:
%% cheaper per add from one process (atomics:add/3 is a BIF, counters:add/3
%% an Erlang function in front of one), contended like Supertester's buckets
%% when processes hit the same bucket. The benchmark reports it for
%% information.
%% msb/1 is a guard cascade on 32/16/8/4-bit halves ending in a 16-entry
%% literal tuple: no allocation and no float on the record path.
%%
%% Differences from Supertester, all in this side's favour on the record
%% path: it keeps no exact min and max (Supertester reads both on every
%% record and updates them when a value is a new extreme), so percentiles
%% report the top of the bucket without clamping to the exact extremes; the
%% two agree unless a percentile falls in the bucket of the smallest or the
%% largest value. Percentiles use the same nearest-rank definition,
%% including the C core's snapping of a rank that floating point puts a hair
%% above an integer (99.9% of 1000 values is rank 999).
-module(bench_erl_hist).

-export([new/0, new/1, new/2, record/2, percentiles/2, count/1, bucket_count/1,
         index/1]).

-export_type([hist/0]).

-define(HALF_BITS, 10).                       % M - 1
-define(EXACT_LIMIT, (1 bsl (?HALF_BITS + 1))). % 2^M: below it, V is its index
-define(ONE_HOUR_NS, 3600000000000).
%% msb of 0..15 (0 for 0, never asked).
-define(MSB4, {0, 0, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3}).

-record(erl_hist, {kind :: counters | atomics,
                   counters :: counters:counters_ref() | atomics:atomics_ref(),
                   highest :: pos_integer(),
                   buckets :: pos_integer()}).

-opaque hist() :: #erl_hist{}.

%% @equiv new(3600000000000)
-spec new() -> hist().
new() -> new(?ONE_HOUR_NS).

%% @equiv new(Highest, counters)
-spec new(pos_integer()) -> hist().
new(Highest) -> new(Highest, counters).

%% @doc An empty histogram for values 0..Highest, its buckets in a
%% `counters' array (write_concurrency) or an `atomics' array.
-spec new(pos_integer(), counters | atomics) -> hist().
new(Highest, Kind) when is_integer(Highest), Highest >= 2, Highest =< 1 bsl 62 ->
    Buckets = index(Highest) + 1,
    Ref = case Kind of
              counters -> counters:new(Buckets + 1, [write_concurrency]);
              atomics -> atomics:new(Buckets + 1, [{signed, false}])
          end,
    #erl_hist{kind = Kind, counters = Ref, highest = Highest, buckets = Buckets}.

%% @doc Records one value; above the highest value it is only counted as
%% out of range.
-spec record(hist(), non_neg_integer()) -> ok | {error, out_of_range}.
record(#erl_hist{kind = counters, counters = C, highest = Highest}, V)
  when is_integer(V), V >= 0, V =< Highest ->
    counters:add(C, index(V) + 1, 1);
record(#erl_hist{kind = atomics, counters = A, highest = Highest}, V)
  when is_integer(V), V >= 0, V =< Highest ->
    atomics:add(A, index(V) + 1, 1);
record(#erl_hist{kind = Kind, counters = C, buckets = Buckets}, V)
  when is_integer(V), V >= 0 ->
    add(Kind, C, Buckets + 1),
    {error, out_of_range}.

add(counters, C, I) -> counters:add(C, I, 1);
add(atomics, A, I) -> atomics:add(A, I, 1).

get(counters, C, I) -> counters:get(C, I);
get(atomics, A, I) -> atomics:get(A, I).

%% @doc `{InRange, OutOfRange}' counts.
-spec count(hist()) -> {non_neg_integer(), non_neg_integer()}.
count(#erl_hist{kind = Kind, counters = C, buckets = Buckets}) ->
    {lists:sum(read_counts(Kind, C, Buckets, [])), get(Kind, C, Buckets + 1)}.

-spec bucket_count(hist()) -> pos_integer().
bucket_count(#erl_hist{buckets = Buckets}) -> Buckets.

%% @doc Nearest-rank percentiles, as `[{P, Value}]' in the order asked;
%% Value is the highest value of the bucket holding that rank, `undefined'
%% when the histogram is empty. One pass reads every counter.
-spec percentiles(hist(), [number()]) -> [{number(), non_neg_integer() | undefined}].
percentiles(#erl_hist{kind = Kind, counters = C, buckets = Buckets}, Ps) ->
    Counts = read_counts(Kind, C, Buckets, []),
    case lists:sum(Counts) of
        0 ->
            [{P, undefined} || P <- Ps];
        Total ->
            Wanted = lists:sort([{rank(P, Total), P} || P <- Ps]),
            Found = walk(Counts, 0, 0, Wanted, #{}),
            [{P, maps:get(P, Found)} || P <- Ps]
    end.

%% @doc Bucket index of V (0-based), V < 2^64: what record/2 computes
%% before its add.
-spec index(non_neg_integer()) -> non_neg_integer().
index(V) when V < ?EXACT_LIMIT -> V;
index(V) ->
    G = msb(V) - ?HALF_BITS,
    (G bsl ?HALF_BITS) + (V bsr G).

msb(V) when V >= 16#100000000 -> msb16(V bsr 32, 32);
msb(V) -> msb16(V, 0).

msb16(V, N) when V >= 16#10000 -> msb8(V bsr 16, N + 16);
msb16(V, N) -> msb8(V, N).

msb8(V, N) when V >= 16#100 -> msb4(V bsr 8, N + 8);
msb8(V, N) -> msb4(V, N).

msb4(V, N) when V >= 16#10 -> N + 4 + element((V bsr 4) + 1, ?MSB4);
msb4(V, N) -> N + element(V + 1, ?MSB4).

%% Counts of buckets 0..Buckets-1, read from the top down so the list comes
%% out in increasing order.
read_counts(_Kind, _C, 0, Acc) -> Acc;
read_counts(Kind, C, I, Acc) -> read_counts(Kind, C, I - 1, [get(Kind, C, I) | Acc]).

walk(_Counts, _I, _Seen, [], Found) ->
    Found;
walk([Count | Counts], I, Seen0, Wanted0, Found0) ->
    Seen = Seen0 + Count,
    {Wanted, Found} = reached(Wanted0, Seen, I, Found0),
    walk(Counts, I + 1, Seen, Wanted, Found).

reached([{Rank, P} | Wanted], Seen, I, Found) when Rank =< Seen ->
    reached(Wanted, Seen, I, Found#{P => highest_of(I)});
reached(Wanted, _Seen, _I, Found) ->
    {Wanted, Found}.

%% 1-based nearest rank of percentile P among N values, as in the C core.
rank(P, N) ->
    X = P / 100 * N,
    F = floor(X),
    R = case X - F =< 4 * 2.220446049250313e-16 * max(X, 1.0) of % 4 ulps
            true -> F;
            false -> F + 1
        end,
    min(max(R, 1), N).

%% Highest value sharing bucket I.
highest_of(I) ->
    Shift = case I bsr ?HALF_BITS of
                Group when Group < 2 -> 0;
                Group -> Group - 1
            end,
    Lowest = (I - (Shift bsl ?HALF_BITS)) bsl Shift,
    Lowest + (1 bsl Shift) - 1.
