defmodule Supertester.PerformanceHelpersTest do
  use ExUnit.Case, async: true

  import Supertester.PerformanceHelpers

  alias Supertester.Test.Store

  test "version is the application's version" do
    assert Supertester.version() == to_string(Application.spec(:supertester, :vsn))
    assert Supertester.version() =~ ~r/^\d+\.\d+\.\d+/
  end

  describe "measure_operation/1" do
    test "returns the 0.5.1 keys and the result" do
      metrics = measure_operation(fn -> Enum.sum(1..1000) end)
      assert %{time_us: t, memory_bytes: m, reductions: r, result: 500_500} = metrics
      assert is_integer(t) and t >= 0
      assert is_integer(m) and m >= 0
      assert r > 0
    end

    test "errors raised by the operation are not rewritten" do
      assert_raise ArgumentError, "mine", fn ->
        measure_operation(fn -> raise ArgumentError, "mine" end)
      end

      # Even an Erlang {:badarg, _} from the user's code passes through.
      assert {:badarg, :mine} ==
               catch_error(measure_operation(fn -> :erlang.error({:badarg, :mine}) end))
    end
  end

  describe "assert_performance/2 and assert_expectations/2" do
    test "pass within bounds" do
      assert :ok ==
               assert_performance(fn -> :ok end,
                 max_time_ms: 1000,
                 max_memory_bytes: 100_000_000,
                 max_reductions: 1_000_000
               )

      measurement = measure_operation(fn -> :done end)
      assert :ok == assert_expectations(measurement, max_time_ms: 1000)
      assert measurement.result == :done
    end

    # Time and reductions only: memory is VM-wide, and in an async module
    # other tests can free more than this allocates (see MemoryLeakTest).
    test "a failure is an ExUnit.AssertionError naming every exceeded bound" do
      error =
        assert_raise ExUnit.AssertionError, fn ->
          assert_performance(
            fn ->
              receive do
              after
                2 -> Enum.to_list(1..50_000)
              end
            end,
            max_reductions: 1,
            max_time_ms: 0
          )
        end

      assert error.message =~ "exceeds max_reductions = 1"
      assert error.message =~ "exceeds max_time_ms = 0"
      assert error.message =~ "Measured: time_us="
    end

    test "the failure points at the test, not at the toolkit" do
      error =
        try do
          assert_performance(fn -> Enum.to_list(1..1000) end, max_reductions: 0)
        rescue
          e in ExUnit.AssertionError -> {e, __STACKTRACE__}
        end

      {%ExUnit.AssertionError{}, stacktrace} = error
      modules = Enum.map(stacktrace, &elem(&1, 0))
      refute Enum.any?(modules, &(Atom.to_string(&1) =~ ~r/^supertester_/))
      assert __MODULE__ in modules
    end

    test "an unknown expectation raises ArgumentError before running" do
      error =
        assert_raise ArgumentError, fn ->
          assert_performance(fn -> send(self(), :ran) end, max_time: 5)
        end

      assert error.message =~ "max_time"
      assert error.message =~ "max_time_ms, max_memory_bytes, max_reductions"
      refute_received :ran
    end

    test "bad arguments raise ArgumentError" do
      assert_raise ArgumentError, ~r/operation/, fn -> assert_performance(:nope, []) end
      assert_raise ArgumentError, ~r/measurement/, fn -> assert_expectations(:nope, []) end
    end
  end

  describe "compare_performance/2" do
    test "keeps the 0.5.1 shape and says which difference is significant" do
      short = Enum.to_list(1..10)
      long = Enum.to_list(1..20_000)

      results =
        compare_performance(
          %{
            "short" => fn -> Enum.reverse(short) end,
            "long" => fn -> Enum.reverse(long) end
          },
          time_budget_ms: 100
        )

      {fastest, _metrics} = Enum.min_by(results, fn {_name, m} -> m.time_us end)
      assert fastest == "short"

      assert %{verdict: :faster, significant: true, p_value: p} =
               results["short"].comparisons["long"]

      assert p < 0.05
      assert results["long"].comparisons["short"].verdict == :slower
      assert results["short"].result == Enum.reverse(short)
      assert %{p50: _, p90: _, p99: _, p999: _} = results["short"].percentiles
      assert {low, high} = results["short"].ci_us
      assert low <= results["short"].mean_us and results["short"].mean_us <= high
    end

    test "an empty map is refused" do
      assert_raise ArgumentError, fn -> compare_performance(%{}) end
    end
  end

  describe "measure_mailbox_growth/3 and assert_mailbox_stable/2" do
    test "reports the 0.5.1 keys on a held GenServer" do
      {:ok, store} = start_supervised(Store)
      :ok = Store.hold(store)

      report =
        measure_mailbox_growth(store, fn ->
          for _ <- 1..300, do: GenServer.cast(store, :work)
          :sent
        end)

      assert %{initial_size: 0, final_size: 300, max_size: 300, result: :sent} = report
      assert %{sampling: :events, target: :alive} = report
      assert report.avg_size > 0
      :ok = Store.release(store)
    end

    test "resolves {:global, _} and {:via, Registry, _} names" do
      registry = :"registry_#{System.unique_integer([:positive])}"
      start_supervised!({Registry, keys: :unique, name: registry})
      via = {:via, Registry, {registry, :store}}
      {:ok, store} = GenServer.start_link(Store, [], name: via)
      global = {:global, {__MODULE__, make_ref()}}
      :yes = :global.register_name(elem(global, 1), store)

      assert %{final_size: 0} = measure_mailbox_growth(via, fn -> GenServer.call(store, :sync) end)
      assert %{final_size: 0} = measure_mailbox_growth(global, fn -> :ok end)
    end

    test "copes with the GenServer dying mid-measurement" do
      {:ok, store} = Store.start()

      report =
        measure_mailbox_growth(store, fn ->
          ref = Process.monitor(store)
          Process.exit(store, :kill)
          assert_receive {:DOWN, ^ref, :process, ^store, :killed}
        end)

      assert %{final_size: 0, target: {:down, :killed}} = report
    end

    test "assert_mailbox_stable passes, then fails with the sizes in the message" do
      {:ok, store} = start_supervised(Store)
      assert :ok == assert_mailbox_stable(store, during: fn -> GenServer.call(store, :sync) end)

      :ok = Store.hold(store)

      error =
        assert_raise ExUnit.AssertionError, fn ->
          assert_mailbox_stable(store,
            during: fn -> for _ <- 1..60, do: GenServer.cast(store, :work) end,
            max_size: 50
          )
        end

      assert error.message =~ "grew to 60 messages, above the maximum of 50"
      :ok = Store.release(store)
    end

    test "misuse raises ArgumentError telling the fix" do
      {:ok, store} = start_supervised(Store)

      assert_raise ArgumentError, ~r/during/, fn -> assert_mailbox_stable(store, max_size: 5) end

      assert_raise ArgumentError, ~r/nothing is registered/, fn ->
        measure_mailbox_growth(:no_such_server, fn -> :ok end)
      end

      assert_raise ArgumentError, ~r/sampling_interval/, fn ->
        measure_mailbox_growth(store, fn -> :ok end, sampling_interval: -1)
      end
    end
  end
end
