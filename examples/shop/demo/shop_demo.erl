%% `make demo': Supertester on the shop application: the performance
%% helpers, test isolation and assertions. Every figure printed is measured
%% during the run.
-module(shop_demo).

-export([main/0]).

main() ->
    {ok, _} = application:ensure_all_started(shop),
    io:format("Supertester ~s demo on the shop example application~n"
              "(OTP ~s, ~b schedulers)~n",
              [supertester:version(), erlang:system_info(otp_release),
               erlang:system_info(schedulers_online)]),
    measure_one_call(),
    compare_lookups(),
    find_the_leak(),
    watch_a_burst(),
    isolate_tests(),
    catch_contamination(),
    check_strategy(),
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

isolate_tests() ->
    section(5, "isolation: 20 tests at once, each with its own catalog"),
    Self = self(),
    Tests = [spawn_link(fun() ->
                                supertester_isolation:with(full_isolation, fun(_Ctx) ->
                                    {ok, Catalog} = supertester_otp:setup_isolated_genserver(
                                                      shop_catalog, "demo", [{init_args, 10}]),
                                    {registered_name, Name} = process_info(Catalog, registered_name),
                                    Self ! {running, self(), Name},
                                    receive finish -> ok end
                                end),
                                Self ! {finished, self()}
                        end) || _ <- lists:seq(1, 20)],
    Names = [receive {running, T, Name} -> Name end || T <- Tests],
    io:format("   20 catalogs running at once under ~b distinct names (~0p, ~0p, ...)~n",
              [length(lists:usort(Names)) | lists:sublist(lists:sort(Names), 2)]),
    [T ! finish || T <- Tests],
    [receive {finished, T} -> ok end || T <- Tests],
    #{created := Made, in_use := Held} = supertester_isolation:name_stats(),
    io:format("   after the 20 teardowns: ~b of them still registered; the name pools made~n"
              "   ~b names (catalogs and per-test registries) and hold ~b now~n",
              [length([N || N <- Names, whereis(N) =/= undefined]), Made, Held]).

catch_contamination() ->
    section(6, "contamination detection: a test that forgets a process"),
    Ctx = supertester_isolation:setup(contamination_detection,
                                      #{auto_teardown => false, contamination => report}),
    {ok, _Tracked} = supertester_otp:setup_isolated_genserver(shop_audit), % cleaned up: fine
    {ok, Forgotten} = gen_server:start(shop_catalog, 5, []),              % not cleaned up
    {leaked, Leaks} = supertester_isolation:teardown(Ctx),
    io:format("~s   (~p was then stopped)~n", [indent(supertester_isolation:format_leaks(Leaks)), Forgotten]).

check_strategy() ->
    section(7, "assert_supervisor_strategy: read from the live supervisor"),
    ok = supertester_assertions:assert_supervisor_strategy(shop_sup, one_for_one),
    io:format("   shop_sup is one_for_one: ok~n"),
    try supertester_assertions:assert_supervisor_strategy(shop_sup, rest_for_one) of
        ok -> io:format("   ...and rest_for_one?! (unexpected)~n")
    catch
        error:{assertion_failed, #{message := Message}} ->
            io:format("   asserting rest_for_one fails with~n~s", [indent(Message)])
    end.

indent(Text) ->
    ["      " ++ Line ++ "\n" || Line <- string:split(binary_to_list(Text), "\n", all), Line =/= ""].
