%% @doc What the benchmark sections share: medians, rotating the order of
%% variants between rounds, thousands separators, and running a section
%% without the supervisor reports its kills cause.
-module(bench_lib).

-export([median/1, rotate/2, thousands/1, quietly/1]).

%% @doc The median; the mean of the two middle values for an even count.
-spec median([number()]) -> number().
median(Xs) ->
    S = lists:sort(Xs),
    L = length(S),
    case L rem 2 of
        1 -> lists:nth(L div 2 + 1, S);
        0 -> (lists:nth(L div 2, S) + lists:nth(L div 2 + 1, S)) / 2
    end.

%% @doc The list with its first N elements moved to the end.
-spec rotate([T], non_neg_integer()) -> [T].
rotate(List, N) ->
    {Front, Back} = lists:split(N, List),
    Back ++ Front.

%% @doc An integer with thousands separators ("1,234,567").
-spec thousands(integer()) -> string().
thousands(N) when is_integer(N), N < 0 -> [$- | thousands(-N)];
thousands(N) when is_integer(N) ->
    lists:reverse(group(lists:reverse(integer_to_list(N)))).

group([A, B, C, D | Rest]) -> [A, B, C, $, | group([D | Rest])];
group(Short) -> Short.

%% @doc Runs Fun with the logger at `critical', then restores its level:
%% sections that kill children would otherwise print a supervisor report
%% per kill.
-spec quietly(fun(() -> T)) -> T.
quietly(Fun) ->
    #{level := Level} = logger:get_primary_config(),
    ok = logger:set_primary_config(level, critical),
    try Fun()
    after logger:set_primary_config(level, Level)
    end.
