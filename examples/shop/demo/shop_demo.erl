%% `make demo': Supertester's performance helpers on the shop application.
%% Every figure printed is measured during the run.
-module(shop_demo).

-export([main/0]).

main() ->
    {ok, _} = application:ensure_all_started(shop),
    io:format("Supertester ~s demo: PerformanceHelpers on the shop example~n"
              "(OTP ~s, ~b schedulers)~n",
              [supertester:version(), erlang:system_info(otp_release),
               erlang:system_info(schedulers_online)]),
    measure_one_call(),
    compare_lookups(),
    find_the_leak(),
    watch_a_burst(),
    application:stop(shop).

section(N, Title) ->
    io:format("~n~b. ~s~n~s~n", [N, Title, lists:duplicate(length(Title) + 3, $-)]).

measure_one_call() ->
    section(1, "measure_operation: one catalog lookup"),
    Sku = shop_catalog:sku(500),
    M = supertester_performance:measure_operation(fun() -> shop_catalog:price(map, Sku) end),
    io:format("   ~p~n", [M]).

compare_lookups() ->
    section(2, "compare_performance: price by list (keyfind) vs by map, 1000 products"),
    Skus = [shop_catalog:sku(N) || N <- [10, 500, 990]],
    Lookup = fun(Index) -> fun() -> [shop_catalog:price(Index, S) || S <- Skus] end end,
    R = supertester_performance:compare_performance(#{list => Lookup(list), map => Lookup(map)}),
    io:format("   ~-5s ~10s ~10s ~22s ~8s~n", [name, "median us", "p99 us", "mean us [95% CI]", samples]),
    maps:foreach(
      fun(Name, #{time_us := Median, percentiles := #{p99 := P99}, mean_us := Mean,
                  ci_us := {Lo, Hi}, samples := N}) ->
              io:format("   ~-5s ~10.2f ~10.2f ~8.2f [~.2f, ~.2f] ~8b~n",
                        [Name, Median, P99, Mean, Lo, Hi, N])
      end, R),
    #{ratio := Ratio, p_value := P, verdict := Verdict, significant := Sig} =
        maps:get(map, maps:get(comparisons, maps:get(list, R))),
    io:format("   list vs map: ~s, mean ratio ~.2fx, Holm-corrected p ~s (~s)~n",
              [Verdict, Ratio, format_p(P),
               case Sig of true -> "significant"; false -> "not significant" end]).

%% Below double precision a p-value prints as 0; say what it means.
format_p(P) when P < 1.0e-15 -> "< 1e-15";
format_p(P) -> io_lib:format("= ~.3g", [P]).

find_the_leak() ->
    section(3, "assert_no_memory_leak: the audit log, 5000 events of 1 KB"),
    Event = fun() -> {order_placed, erlang:unique_integer(), binary:copy(<<$x>>, 1024)} end,
    ok = shop_audit:set_mode(bounded),
    ok = supertester_performance:assert_no_memory_leak(5000, fun() -> shop_audit:log_sync(Event()) end),
    io:format("   bounded mode (keeps the last 100): ok, no leak~n"),
    ok = shop_audit:set_mode(unbounded),
    try supertester_performance:assert_no_memory_leak(5000, fun() -> shop_audit:log_sync(Event()) end) of
        ok -> io:format("   unbounded mode: passed (unexpected!)~n")
    catch
        error:{assertion_failed, #{message := Message}} ->
            io:format("   unbounded mode (keeps everything): the check fails with~n~s~n",
                      [indent(Message)])
    end,
    ok = shop_audit:set_mode(bounded).

watch_a_burst() ->
    section(4, "measure_mailbox_growth: a burst of 2000 casts to the audit log"),
    Audit = whereis(shop_audit),
    Burst = fun() -> [shop_audit:log({click, N}) || N <- lists:seq(1, 2000)], shop_audit:count() end,
    _ = Burst(), % warm up
    {Micros, Report} = timer:tc(fun() -> supertester_performance:measure_mailbox_growth(Audit, Burst) end),
    io:format("   ~p~n", [Report]),
    io:format("   The burst took ~.1f ms; 0.5.1's poller samples every 10 ms.~n"
              "   `make bench' compares the two methods side by side.~n",
              [Micros / 1000]),
    try supertester_performance:assert_mailbox_stable(Audit, [{during, Burst}, {max_size, 100}]) of
        ok -> io:format("   assert_mailbox_stable(max_size 100): ok~n")
    catch
        error:{assertion_failed, #{message := Message}} ->
            io:format("   assert_mailbox_stable(max_size 100) fails with~n~s~n", [indent(Message)])
    end.

indent(Text) ->
    ["      " ++ Line ++ "\n" || Line <- string:split(binary_to_list(Text), "\n", all), Line =/= ""].
