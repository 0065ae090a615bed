defmodule Supertester.ConcurrentHarnessTest do
  # Supertester.ConcurrentHarness through its public API, against real
  # GenServers (HarnessServer, which logs the order of the messages it
  # gets) and real supervisors (Crash.Sup). Every server and tree belongs
  # to its own test, so the tests run concurrently.
  use ExUnit.Case, async: true

  alias Supertester.ConcurrentHarness
  alias Supertester.ConcurrentHarness.Scenario
  alias Supertester.Test.HarnessServer
  alias Supertester.Test.Crash.{Sup, Worker}

  # Thread i's k-th operation logs {i, k}: every message a thread sends is
  # its own, so the server's log tells which thread reached it when.
  # Calls and casts alternate.
  defp logging_threads(thread_count, ops_per_thread) do
    for i <- 0..(thread_count - 1) do
      for k <- 0..(ops_per_thread - 1) do
        if rem(k, 2) == 0, do: {:call, {:log, {i, k}}}, else: {:cast, {:log, {i, k}}}
      end
    end
  end

  # A scenario map on a server it starts itself; the invariant sends the
  # server's log to the test (the invariant runs in the test process).
  defp logging_scenario(threads, extra) do
    test = self()

    Map.merge(
      %{
        setup: fn -> HarnessServer.start_link() end,
        threads: threads,
        invariant: fn server, _ctx -> send(test, {:log, GenServer.call(server, :log)}) end
      },
      Map.new(extra)
    )
  end

  defp run_logged(threads, extra) do
    assert {:ok, report} = ConcurrentHarness.run(logging_scenario(threads, extra))
    assert_received {:log, log}
    {report, log}
  end

  # What an event says, without its timings.
  defp essence(events),
    do: Enum.map(events, &Map.take(&1, [:thread, :step, :order, :operation, :result]))

  defp total(report), do: report.metrics.total_operations

  # A supervisor of three unnamed workers that survives many kills.
  defp start_tree do
    children = for id <- [:a, :b, :c], do: Supervisor.child_spec({Worker, [id: id]}, id: id)
    start_supervised!({Sup, [children: children, max_restarts: 1_000]})
  end

  defp supervisor_scenario(sup, extra) do
    ConcurrentHarness.simple_genserver_scenario(
      Sup,
      [{:call, :count_children}, {:call, :which_children}],
      2,
      [setup: fn -> {:ok, sup, %{}} end, cleanup: fn _, _ -> :ok end] ++ extra
    )
  end

  describe "simple_genserver_scenario/3,4" do
    test "normalizes the threads and fills metadata and defaults" do
      custom = fn pid -> GenServer.call(pid, :log) end
      ops = [{:call, :log}, {:cast, {:log, :c}}, :bare, {:custom, custom}, custom]

      assert %Scenario{} =
               scenario = ConcurrentHarness.simple_genserver_scenario(HarnessServer, ops, 3)

      expected = [
        {:call, :log},
        {:cast, {:log, :c}},
        {:call, :bare},
        {:custom, custom},
        {:custom, custom}
      ]

      assert scenario.threads == [expected, expected, expected]
      assert scenario.metadata == %{module: HarnessServer, thread_count: 3}
      assert is_function(scenario.setup, 0)
      assert scenario.default_operation == :call
      assert scenario.timeout_ms == 5_000
      assert scenario.call_timeout_ms == 1_000
      assert scenario.seed == nil
      assert scenario.chaos == nil
      assert scenario.mailbox == nil
      assert scenario.performance_expectations == []
    end

    test "default_operation: :cast tags bare terms as casts; options become fields" do
      scenario =
        ConcurrentHarness.simple_genserver_scenario(HarnessServer, [:bare, {:call, :log}], 2,
          default_operation: :cast,
          metadata: %{team: :qa},
          timeout_ms: 1_234,
          call_timeout_ms: 77,
          seed: 42
        )

      assert scenario.threads == [
               [{:cast, :bare}, {:call, :log}],
               [{:cast, :bare}, {:call, :log}]
             ]

      assert scenario.metadata == %{module: HarnessServer, thread_count: 2, team: :qa}
      assert {scenario.timeout_ms, scenario.call_timeout_ms, scenario.seed} == {1_234, 77, 42}
      assert scenario.default_operation == :cast
    end

    test "bad arguments raise ArgumentError" do
      setup = fn -> HarnessServer.start_link() end

      assert_raise ArgumentError, fn ->
        ConcurrentHarness.simple_genserver_scenario(HarnessServer, [:x], 0)
      end

      assert_raise ArgumentError, fn ->
        ConcurrentHarness.simple_genserver_scenario(HarnessServer, [:x], 2,
          default_operation: :foo
        )
      end

      assert_raise ArgumentError, fn ->
        ConcurrentHarness.run(%{setup: setup, threads: [[{:call, :log}]], unknown_field: 1})
      end

      assert_raise ArgumentError, fn -> ConcurrentHarness.run(%{setup: setup, threads: []}) end
      assert_raise ArgumentError, fn -> ConcurrentHarness.run(setup: setup, threads: []) end
    end
  end

  describe "run/1" do
    test "a struct: the report's keys, metrics, and nil for unused features" do
      scenario =
        ConcurrentHarness.simple_genserver_scenario(
          HarnessServer,
          [{:call, {:log, :a}}, {:cast, {:log, :b}}],
          3,
          seed: 7
        )

      assert {:ok, report} = ConcurrentHarness.run(scenario)

      for key <- [
            :events,
            :threads,
            :metrics,
            :mailbox,
            :chaos,
            :performance,
            :metadata,
            :context,
            :seed,
            :schedule
          ] do
        assert Map.has_key?(report, key), "report lacks #{inspect(key)}"
      end

      assert %{
               total_operations: 6,
               thread_count: 3,
               operation_errors: 0,
               duration_ms: duration_ms,
               mailbox_observed?: false,
               overall_duration_ms: overall_ms
             } = report.metrics

      assert is_integer(duration_ms) and duration_ms >= 0
      assert is_integer(overall_ms) and overall_ms >= duration_ms

      assert report.chaos == nil
      assert report.mailbox == nil
      assert report.performance == nil
      assert report.seed == 7
      assert report.context == %{}
      assert %{module: HarnessServer, thread_count: 3, seed: 7, scenario_id: id} = report.metadata
      assert is_integer(id)

      assert length(report.events) == 6
      assert Enum.sort(report.schedule) == [0, 0, 1, 1, 2, 2]

      assert [%{thread: 0}, %{thread: 1}, %{thread: 2}] = report.threads

      for %{thread: t, events: events, errors: 0} <- report.threads do
        assert [
                 %{step: 0, operation: {:call, {:log, :a}}, result: {:ok, :ok}},
                 %{step: 1, operation: {:cast, {:log, :b}}, result: {:ok, :ok}}
               ] = events

        assert Enum.all?(events, &(&1.thread == t))
      end
    end

    test "a map: the setup's context is reported, events follow the schedule" do
      scenario = %{
        setup: fn ->
          {:ok, pid} = HarnessServer.start_link()
          {:ok, pid, %{tag: :from_setup}}
        end,
        threads: [[{:call, {:log, 1}}], [{:cast, {:log, 2}}, {:call, :log}]],
        seed: 3
      }

      assert {:ok, report} = ConcurrentHarness.run(scenario)
      assert report.context == %{tag: :from_setup}
      assert report.metrics.total_operations == 3
      assert report.metrics.thread_count == 2
      assert Enum.map(report.events, & &1.order) == [0, 1, 2]
      assert Enum.map(report.events, & &1.thread) == report.schedule
    end

    test "a keyword list runs as well" do
      assert {:ok, report} =
               ConcurrentHarness.run(
                 setup: fn -> HarnessServer.start_link() end,
                 threads: [[{:call, {:log, :k}}, {:call, :log}]],
                 seed: 11
               )

      assert report.seed == 11
      assert report.schedule == [0, 0]
      assert [%{result: {:ok, :ok}}, %{result: {:ok, [:k]}}] = report.events
    end

    test "runs without :telemetry being a dependency of the library" do
      refute :telemetry in Application.spec(:supertester, :applications)

      scenario = ConcurrentHarness.simple_genserver_scenario(HarnessServer, [{:call, :log}], 2)

      assert {:ok, %{metrics: %{operation_errors: 0, total_operations: 2}}} =
               ConcurrentHarness.run(scenario)
    end
  end

  describe "determinism" do
    test "the same seed replays the same order, and the server sees the schedule's order" do
      threads = logging_threads(3, 6)

      {report1, log1} = run_logged(threads, seed: 2024)
      {report2, log2} = run_logged(threads, seed: 2024)

      assert report1.schedule == report2.schedule
      assert log1 == log2
      assert essence(report1.events) == essence(report2.events)

      # The log, read as the thread of each message, is the schedule; and
      # each thread's messages arrive in its script's order.
      assert Enum.map(log1, fn {thread, _k} -> thread end) == report1.schedule
      assert Enum.frequencies(report1.schedule) == %{0 => 6, 1 => 6, 2 => 6}

      for i <- 0..2 do
        assert for({^i, k} <- log1, do: k) == Enum.to_list(0..5)
      end
    end

    test "different seeds give different interleavings" do
      threads = logging_threads(3, 6)

      {report1, log1} = run_logged(threads, seed: 1)
      {report2, log2} = run_logged(threads, seed: 2)

      assert report1.schedule != report2.schedule
      assert log1 != log2
    end

    test "without a seed, ExUnit's seed is used" do
      ex_unit_seed = ExUnit.configuration()[:seed]
      threads = logging_threads(2, 4)

      {report1, log1} = run_logged(threads, [])
      {report2, log2} = run_logged(threads, [])

      assert report1.seed == ex_unit_seed
      assert report1.metadata.seed == ex_unit_seed
      assert report1.schedule == report2.schedule
      assert log1 == log2

      {report3, _log} = run_logged(threads, seed: ex_unit_seed)
      assert report3.schedule == report1.schedule
    end
  end

  describe "invariant" do
    test "gets the subject and a context with events, metrics, seed, schedule and the setup's keys" do
      test = self()

      scenario = %{
        setup: fn ->
          {:ok, pid} = HarnessServer.start_link()
          {:ok, pid, %{user: :alice}}
        end,
        threads: [[{:call, {:log, 1}}], [{:call, {:log, 2}}]],
        seed: 5,
        invariant: fn server, ctx ->
          send(test, {:invariant, server, ctx, GenServer.call(server, :log)})
          :ok
        end
      }

      assert {:ok, report} = ConcurrentHarness.run(scenario)
      assert_received {:invariant, server, ctx, log}

      assert is_pid(server)
      assert Enum.sort(log) == [1, 2]
      assert ctx.user == :alice
      assert ctx.events == report.events
      assert ctx.schedule == report.schedule
      assert ctx.seed == 5
      assert ctx.metrics.total_operations == 2
      assert ctx.metadata == report.metadata
      assert ctx.chaos == nil
      assert ctx.mailbox == nil
      assert ctx.performance == nil
    end

    test "returning false or {:error, reason} fails the run" do
      scenario = fn invariant ->
        ConcurrentHarness.simple_genserver_scenario(HarnessServer, [{:call, :log}], 2,
          invariant: invariant
        )
      end

      assert ConcurrentHarness.run(scenario.(fn _, _ -> false end)) ==
               {:error, {:invariant_failed, :returned_false}}

      assert ConcurrentHarness.run(scenario.(fn _, _ -> {:error, :counts_differ} end)) ==
               {:error, {:invariant_failed, :counts_differ}}

      # Any other value passes.
      assert {:ok, _} = ConcurrentHarness.run(scenario.(fn _, _ -> nil end))
    end

    test "a failing ExUnit assertion is reported with its stacktrace" do
      scenario =
        ConcurrentHarness.simple_genserver_scenario(HarnessServer, [{:call, {:log, :x}}], 2,
          invariant: fn server, _ctx -> assert GenServer.call(server, :log) == [] end
        )

      assert {:error, {:invariant_failed, {%ExUnit.AssertionError{}, stack}}} =
               ConcurrentHarness.run(scenario)

      assert is_list(stack) and stack != []
    end
  end

  describe "setup" do
    test "an error is returned as is, a raise as :setup_failed, anything else as :invalid_setup_return" do
      run_with = fn setup ->
        ConcurrentHarness.run(%{setup: setup, threads: [[{:call, :log}]]})
      end

      assert run_with.(fn -> {:error, :no_database} end) == {:error, :no_database}

      assert {:error, {:setup_failed, {%RuntimeError{message: "setup exploded"}, _stack}}} =
               run_with.(fn -> raise "setup exploded" end)

      assert run_with.(fn -> :started end) == {:error, {:invalid_setup_return, :started}}
    end
  end

  describe "cleanup" do
    test "the default cleanup stops the server the default setup started" do
      test = self()

      scenario =
        ConcurrentHarness.simple_genserver_scenario(HarnessServer, [{:call, :log}], 2,
          invariant: fn server, _ctx ->
            send(test, {:monitored, server, Process.monitor(server)})
          end
        )

      assert {:ok, _report} = ConcurrentHarness.run(scenario)
      assert_received {:monitored, server, ref}
      assert_receive {:DOWN, ^ref, :process, ^server, :normal}
    end

    test "a custom cleanup is called with the subject and the setup's context, after the invariant" do
      test = self()
      server = start_supervised!(HarnessServer)

      scenario = %{
        setup: fn -> {:ok, server, %{owner: :test}} end,
        threads: [[{:call, {:log, :one}}]],
        invariant: fn _, _ -> send(test, :invariant_ran) end,
        cleanup: fn pid, ctx -> send(test, {:cleanup, pid, ctx}) end
      }

      assert {:ok, _report} = ConcurrentHarness.run(scenario)
      assert_received :invariant_ran
      assert_received {:cleanup, ^server, %{owner: :test}}
      # The custom cleanup replaced the default one: the server still runs.
      assert GenServer.call(server, :log) == [:one]
    end

    test "the cleanup runs when the invariant fails" do
      test = self()

      scenario = %{
        setup: fn -> HarnessServer.start_link() end,
        threads: [[{:call, :log}]],
        invariant: fn _, _ -> false end,
        cleanup: fn pid, _ctx -> send(test, {:cleanup, pid}) end
      }

      assert {:error, {:invariant_failed, :returned_false}} = ConcurrentHarness.run(scenario)
      assert_received {:cleanup, pid}
      assert is_pid(pid)
    end

    test "a raising cleanup is reported with the run's report" do
      scenario =
        ConcurrentHarness.simple_genserver_scenario(HarnessServer, [{:call, :log}], 2,
          cleanup: fn _, _ -> raise "cleanup exploded" end
        )

      assert {:error, {:cleanup_failed, {%RuntimeError{message: "cleanup exploded"}, _}, report}} =
               ConcurrentHarness.run(scenario)

      assert report.metrics.total_operations == 2
    end
  end

  describe "operations" do
    @tag :capture_log
    test "a call to a crashing handler is recorded as an error" do
      scenario = %{
        setup: fn -> HarnessServer.start_link(notify: self()) |> unlinked() end,
        threads: [[{:call, :crash}]],
        seed: 1
      }

      assert {:ok, report} = ConcurrentHarness.run(scenario)
      assert [%{operation: {:call, :crash}, result: {:error, reason}}] = report.events
      assert {%RuntimeError{message: "crash requested"}, _stack} = reason
      assert report.metrics.operation_errors == 1
      assert [%{errors: 1}] = report.threads
      assert_receive {:harness_server, :terminated, _pid, {%RuntimeError{}, _}}
    end

    test "a call that is not answered in call_timeout_ms is recorded as {:error, :timeout}" do
      scenario =
        ConcurrentHarness.simple_genserver_scenario(
          HarnessServer,
          [{:call, :no_reply}, {:call, {:log, :after}}],
          1,
          call_timeout_ms: 20
        )

      assert {:ok, report} = ConcurrentHarness.run(scenario)

      assert [%{result: {:error, :timeout}}, %{result: {:ok, :ok}}] = report.events
      assert report.metrics.operation_errors == 1
    end

    test "a custom operation's value is recorded as {:ok, value}" do
      scenario = %{
        setup: fn -> HarnessServer.start_link() end,
        threads: [
          [{:call, {:log, :first}}, {:custom, fn pid -> {:seen, GenServer.call(pid, :log)} end}]
        ]
      }

      assert {:ok, report} = ConcurrentHarness.run(scenario)
      assert [_, %{operation: :custom, result: {:ok, {:seen, [:first]}}}] = report.events
      assert report.metrics.operation_errors == 0
    end

    test "raising, throwing or exiting custom operations are recorded as errors" do
      scenario = %{
        setup: fn -> HarnessServer.start_link() end,
        threads: [
          [{:custom, fn _ -> raise ArgumentError, "bad op" end}],
          [{:custom, fn _ -> throw(:thrown) end}],
          [{:custom, fn _ -> exit(:gone) end}, {:call, {:log, :still_running}}]
        ],
        seed: 9
      }

      assert {:ok, report} = ConcurrentHarness.run(scenario)
      assert report.metrics.operation_errors == 3
      assert report.metrics.total_operations == 4

      [t0, t1, t2] = report.threads
      assert [%{result: {:error, {%ArgumentError{message: "bad op"}, _}}}] = t0.events
      assert [%{result: {:error, {:throw, :thrown}}}] = t1.events
      assert [%{result: {:error, {:exit, :gone}}}, %{result: {:ok, :ok}}] = t2.events
    end
  end

  describe "timeout_ms" do
    test "a thread stuck in a custom operation times the run out and is killed" do
      test = self()

      stuck = fn _pid ->
        send(test, {:stuck, self()})

        receive do
          :never -> :ok
        end
      end

      scenario = %{
        setup: fn -> HarnessServer.start_link(notify: test) |> unlinked() end,
        threads: [[{:custom, stuck}], [{:call, {:log, :other}}]],
        timeout_ms: 300,
        seed: 77
      }

      assert {:error, {:timeout, info}} = ConcurrentHarness.run(scenario)
      assert %{in_flight: in_flight, seed: 77} = info
      assert Enum.any?(in_flight, &match?(%{thread: 0, step: 0, operation: :custom}, &1))

      assert_receive {:stuck, stuck_pid}
      ref = Process.monitor(stuck_pid)
      assert_receive {:DOWN, ^ref, :process, ^stuck_pid, reason}
      assert reason in [:killed, :noproc]
      refute Process.alive?(stuck_pid)

      # The run still cleaned up after itself.
      assert_receive {:harness_server, :terminated, _server, :normal}
    end
  end

  describe "chaos" do
    @tag :capture_log
    test "chaos_inject_crash/0 crashes a default-setup server, not the test" do
      scenario =
        ConcurrentHarness.simple_genserver_scenario(
          HarnessServer,
          [{:call, {:log, :a}}, {:cast, {:log, :b}}],
          2,
          server_opts: [notify: self(), trap_exit: true],
          chaos: ConcurrentHarness.chaos_inject_crash(),
          seed: 31
        )

      assert {:ok, report} = ConcurrentHarness.run(scenario)
      assert_received {:harness_server, :started, server}
      assert_receive {:harness_server, :terminated, ^server, :chaos_injection}

      assert %{result: :ok, duration_ms: duration_ms, started_at_step: step} = report.chaos
      assert is_integer(duration_ms) and duration_ms >= 0
      assert is_integer(step) and step in 0..total(report)

      # The same seed starts the chaos at the same step.
      assert {:ok, again} = ConcurrentHarness.run(scenario)
      assert again.chaos.started_at_step == step
    end

    test "a custom hook gets the subject and a context with the seed and its step" do
      test = self()

      scenario =
        ConcurrentHarness.simple_genserver_scenario(HarnessServer, [{:call, {:log, :a}}], 3,
          chaos: fn pid, ctx ->
            send(test, {:chaos, pid, ctx})
            :hook_result
          end,
          invariant: fn server, _ -> send(test, {:subject, server}) end,
          seed: 1234
        )

      assert {:ok, report} = ConcurrentHarness.run(scenario)
      assert_received {:chaos, pid, ctx}
      assert_received {:subject, ^pid}

      assert report.chaos.result == :hook_result
      assert ctx.seed == 1234
      assert ctx.started_at_step == report.chaos.started_at_step
      assert ctx.metadata.scenario_id == report.metadata.scenario_id
      assert ctx.setup_context == %{}
    end

    test "chaos_kill_children/1 kills a supervisor subject's children" do
      sup = start_tree()
      before = Supervisor.which_children(sup)

      scenario =
        supervisor_scenario(sup,
          chaos:
            ConcurrentHarness.chaos_kill_children(
              kill_rate: 1.0,
              duration_ms: 50,
              kill_interval_ms: 10
            ),
          seed: 3
        )

      assert {:ok, report} = ConcurrentHarness.run(scenario)
      assert report.chaos.result.killed >= 1
      assert report.chaos.result.supervisor_crashed == false
      assert report.metrics.total_operations == 4
      assert Process.alive?(sup)
      assert Supervisor.which_children(sup) != before
    end

    test "a raising chaos hook fails the run with :chaos_failed" do
      scenario =
        ConcurrentHarness.simple_genserver_scenario(HarnessServer, [{:call, :log}], 2,
          chaos: fn _, _ -> raise "chaos exploded" end
        )

      assert {:error, {:chaos_failed, {%RuntimeError{message: "chaos exploded"}, _}}} =
               ConcurrentHarness.run(scenario)
    end
  end

  describe "mailbox and performance" do
    test "mailbox: [sampling_interval: 1] measures the subject's mailbox" do
      scenario =
        ConcurrentHarness.simple_genserver_scenario(
          HarnessServer,
          [{:cast, {:log, :m}}, {:call, :log}],
          3,
          mailbox: [sampling_interval: 1]
        )

      assert {:ok, report} = ConcurrentHarness.run(scenario)
      assert report.metrics.mailbox_observed? == true

      assert %{
               max_size: max,
               initial_size: initial,
               final_size: final,
               avg_size: _,
               samples: samples
             } = report.mailbox

      assert is_integer(max) and max >= initial and max >= final
      assert samples >= 2
      refute Map.has_key?(report.mailbox, :result)
    end

    test "performance_expectations within bounds are measured in the report" do
      scenario =
        ConcurrentHarness.simple_genserver_scenario(HarnessServer, [{:call, :log}], 2,
          performance_expectations: [
            max_reductions: 1_000_000_000,
            max_memory_bytes: 100_000_000_000
          ]
        )

      assert {:ok, report} = ConcurrentHarness.run(scenario)
      assert %{time_us: time_us, memory_bytes: _, reductions: reductions} = report.performance
      assert is_integer(time_us) and reductions > 0
    end

    test "impossible performance_expectations fail the run with an ExUnit.AssertionError" do
      scenario =
        ConcurrentHarness.simple_genserver_scenario(HarnessServer, [{:call, :log}], 2,
          performance_expectations: [max_reductions: 0]
        )

      assert {:error,
              {:performance_failed, %{error: %ExUnit.AssertionError{message: message}} = info}} =
               ConcurrentHarness.run(scenario)

      assert message =~ "reductions"
      assert info.measurement.reductions > 0
    end

    test "run_with_performance/2 raises on a broken bound and returns the run's result otherwise" do
      scenario =
        ConcurrentHarness.simple_genserver_scenario(HarnessServer, [{:call, :log}], 2, seed: 8)

      assert_raise ExUnit.AssertionError, ~r/reductions/, fn ->
        ConcurrentHarness.run_with_performance(scenario, max_reductions: 0)
      end

      assert {:ok, report} =
               ConcurrentHarness.run_with_performance(scenario, max_reductions: 1_000_000_000)

      assert report.seed == 8
      assert report.metrics.total_operations == 2
    end
  end

  describe "from_property_config/3" do
    test "builds a runnable scenario; the config's fields win over the options" do
      config = %{
        thread_scripts: [[{:call, {:log, :a}}, {:log, :bare}], [{:cast, {:log, :b}}]],
        timeout_ms: 2_000,
        metadata: %{a: 1}
      }

      scenario =
        ConcurrentHarness.from_property_config(HarnessServer, config,
          timeout_ms: 9_000,
          call_timeout_ms: 300,
          metadata: %{b: 2},
          seed: 11
        )

      assert %Scenario{} = scenario
      assert scenario.timeout_ms == 2_000
      assert scenario.call_timeout_ms == 300
      assert scenario.seed == 11
      assert scenario.metadata == %{module: HarnessServer, a: 1, b: 2}

      assert scenario.threads == [
               [{:call, {:log, :a}}, {:call, {:log, :bare}}],
               [{:cast, {:log, :b}}]
             ]

      assert {:ok, report} = ConcurrentHarness.run(scenario)
      assert report.metadata.a == 1
      assert report.metrics.total_operations == 3
      assert report.metrics.operation_errors == 0
      assert report.metrics.thread_count == 2
      assert report.seed == 11
    end

    test "a config without thread scripts raises ArgumentError" do
      assert_raise ArgumentError, fn ->
        ConcurrentHarness.from_property_config(HarnessServer, %{timeout_ms: 10})
      end
    end
  end

  describe "ChaosHelpers.run_chaos_suite/3 with :concurrent entries" do
    test "built and given scenarios pass against a live supervisor" do
      sup = start_tree()
      test = self()

      scenarios = [
        %{
          type: :concurrent,
          build: fn target ->
            send(test, {:built_for, target})
            supervisor_scenario(target, [])
          end
        },
        %{type: :concurrent, scenario: supervisor_scenario(sup, seed: 4)}
      ]

      report = Supertester.ChaosHelpers.run_chaos_suite(sup, scenarios, timeout: 10_000)

      assert_received {:built_for, ^sup}
      assert %{total_scenarios: 2, passed: 2, failed: 0, failures: []} = report
      assert [%{status: :passed, report: r1}, %{status: :passed, report: r2}] = report.results
      assert r1.metrics.total_operations == 4
      assert r2.seed == 4
    end

    test "the suite's seed reaches :concurrent entries without their own" do
      sup = start_tree()

      scenarios = [
        %{type: :concurrent, scenario: supervisor_scenario(sup, [])},
        %{type: :concurrent, build: fn target -> supervisor_scenario(target, []) end},
        %{type: :concurrent, scenario: supervisor_scenario(sup, seed: 9)}
      ]

      report = Supertester.ChaosHelpers.run_chaos_suite(sup, scenarios, seed: 4, timeout: 10_000)

      assert Enum.map(report.results, & &1.report.seed) == [4, 4, 9]
    end

    test "a concurrent scenario whose invariant fails is counted as failed" do
      sup = start_tree()

      scenarios = [
        %{type: :concurrent, scenario: supervisor_scenario(sup, [])},
        %{type: :concurrent, scenario: supervisor_scenario(sup, invariant: fn _, _ -> false end)}
      ]

      report = Supertester.ChaosHelpers.run_chaos_suite(sup, scenarios, timeout: 10_000)

      assert report.passed == 1
      assert report.failed == 1
      assert [%{reason: {:invariant_failed, :returned_false}}] = report.failures
    end
  end

  # A server started with start_link in the setup is linked to the test;
  # the crash tests want it not to be.
  defp unlinked({:ok, pid}) do
    Process.unlink(pid)
    {:ok, pid}
  end
end
