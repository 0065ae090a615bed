defmodule Supertester.MemoryLeakTest do
  # Synchronous on purpose: assert_no_memory_leak/3 measures the whole VM's
  # memory, so a test growing memory concurrently would count as a leak here.
  use ExUnit.Case, async: false

  import Supertester.PerformanceHelpers
  alias Supertester.Test.Store

  test "a GenServer that keeps every message leaks, with the slope in the message" do
    {:ok, store} = start_supervised(Store)
    size = div(:erlang.memory(:total), 2 * 400)

    error =
      assert_raise ExUnit.AssertionError, fn ->
        assert_no_memory_leak(400, fn -> Store.put(store, :binary.copy(<<1>>, size)) end)
      end

    assert error.message =~ "Memory leak detected"
    assert error.message =~ "bytes per iteration"
    assert error.message =~ "Samples (iteration: erlang:memory(total))"
  end

  test "a bounded cache is not a leak" do
    {:ok, store} = start_supervised(Store)
    size = div(:erlang.memory(:total), 3 * 10)

    assert :ok ==
             assert_no_memory_leak(200, fn ->
               Store.put_last(store, :binary.copy(<<1>>, size), 10)
             end)
  end

  test "the threshold option is honoured" do
    {:ok, store} = start_supervised(Store)
    size = div(:erlang.memory(:total), 2 * 200)

    assert :ok ==
             assert_no_memory_leak(
               200,
               fn -> Store.put(store, :binary.copy(<<1>>, size)) end,
               threshold: 10.0
             )
  end

  # 64 MB: far more than the earlier tests of this module free, which the
  # VM-wide measurement would otherwise count against it.
  test "assert_performance's memory bound sees memory the operation keeps alive" do
    error =
      assert_raise ExUnit.AssertionError, fn ->
        assert_performance(fn -> :binary.copy(<<1>>, 64_000_000) end, max_memory_bytes: 1_000_000)
      end

    assert error.message =~ "exceeds max_memory_bytes = 1000000"
  end

  test "bad arguments raise ArgumentError" do
    assert_raise ArgumentError, ~r/iterations/, fn -> assert_no_memory_leak(0, fn -> :ok end) end

    assert_raise ArgumentError, ~r/threshold/, fn ->
      assert_no_memory_leak(10, fn -> :ok end, threshold: -1)
    end
  end
end
