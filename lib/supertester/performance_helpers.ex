defmodule Supertester.PerformanceHelpers do
  @moduledoc """
  Performance testing and regression detection for OTP systems.

  The functions, options and return shapes are those of Supertester 0.5.1;
  the measurements underneath come from a C core (histograms, regression,
  Welch's t-test) and are stricter where 0.5.1 was weak:

    * `compare_performance/2` samples each function many times, interleaved,
      and reports percentiles, a confidence interval and, for every pair,
      whether the difference is statistically significant.
    * `assert_no_memory_leak/3` fits a regression line through many memory
      samples instead of comparing the first with the last, so it neither
      flakes on a garbage collection nor misses a steady leak.
    * `measure_mailbox_growth/3` samples on the server's scheduling events
      rather than only every 10 ms, and reports cleanly when the server dies
      during the measurement.

  Failed assertions raise `ExUnit.AssertionError` with the measured values in
  the message; bad arguments raise `ArgumentError` before anything runs.

  ## Usage

      import Supertester.PerformanceHelpers

      test "critical path performance" do
        assert_performance(
          fn -> CriticalServer.operation(server) end,
          max_time_ms: 100,
          max_memory_bytes: 1_000_000
        )
      end

  The Erlang module `:supertester_performance` holds the logic and documents
  each measurement in detail; EUnit and Common Test suites can call it
  directly.
  """

  alias Supertester.Internal.Errors

  @typedoc "Bounds checked by `assert_performance/2` and `assert_expectations/2`."
  @type expectations :: [
          max_time_ms: number(),
          max_memory_bytes: non_neg_integer(),
          max_reductions: non_neg_integer()
        ]

  @doc """
  Asserts operation meets performance expectations.

  ## Expectations

    * `:max_time_ms` - Maximum execution time in milliseconds
    * `:max_memory_bytes` - Maximum memory consumption in bytes
    * `:max_reductions` - Maximum reductions (CPU work)

  An unknown expectation raises `ArgumentError` before the operation runs.
  Every bound that is exceeded is listed in the failure.

  ## Examples

      assert_performance(
        fn -> expensive_operation() end,
        max_time_ms: 100,
        max_memory_bytes: 500_000,
        max_reductions: 100_000
      )
  """
  @spec assert_performance((-> any()), expectations()) :: :ok
  def assert_performance(operation, expectations) do
    Errors.translate(fn -> :supertester_performance.assert_performance(operation, expectations) end)
  end

  @doc """
  Asserts that the provided measurement map meets the expectations.

  Useful when you need the measured result but still want to enforce limits:

      measurement = measure_operation(fn -> run_workload() end)
      assert_expectations(measurement, max_time_ms: 50)
      assert measurement.result == :ok
  """
  @spec assert_expectations(map(), expectations()) :: :ok
  def assert_expectations(measurements, expectations) do
    Errors.translate(fn ->
      :supertester_performance.assert_expectations(measurements, expectations)
    end)
  end

  @doc """
  Verifies operation doesn't leak memory over many iterations.

  ## Parameters

    * `iterations` - Number of times to run the operation
    * `operation` - Function to execute
    * `opts` - Options:
      * `:threshold` - acceptable growth over the run, as a fraction of the
        VM's memory at the start (default: 0.1 = 10%)
      * `:samples` - memory samples taken after the warm-up (default: 30)
      * `:gc` - `:all` (default) garbage-collects every process before each
        sample; `:caller` only the calling process, as 0.5.1 did

  The first tenth of the iterations warms up. The verdict is a regression
  over the samples: it fails when the growth the slope predicts exceeds the
  threshold *and* the slope is significantly above zero. The failure message
  shows the bytes per iteration, its confidence interval, r² and the samples.

  Memory is measured for the whole VM (`:erlang.memory(:total)`, as in
  0.5.1), so put leak checks in a test module with `async: false`: memory
  that concurrent tests allocate meanwhile would count as growth.

  ## Examples

      assert_no_memory_leak(10_000, fn ->
        handle_message(server, message())
      end)
  """
  @spec assert_no_memory_leak(pos_integer(), (-> any()), keyword()) :: :ok
  def assert_no_memory_leak(iterations, operation, opts \\ []) do
    Errors.translate(fn ->
      :supertester_performance.assert_no_memory_leak(iterations, operation, opts)
    end)
  end

  @doc """
  Measures operation performance metrics.

  ## Returns

  Map with:

    * `:time_us` - Execution time in microseconds
    * `:memory_bytes` - Growth of the VM's total memory across the call
      (never negative), after a garbage collection of the caller
    * `:reductions` - Reductions (CPU work) of the calling process
    * `:result` - Operation result

  ## Examples

      metrics = measure_operation(fn -> complex_calculation() end)
      IO.puts "Time: \#{metrics.time_us}μs, Memory: \#{metrics.memory_bytes} bytes"
  """
  @spec measure_operation((-> any())) :: map()
  def measure_operation(operation) do
    Errors.translate(fn -> :supertester_performance.measure_operation(operation) end)
  end

  @doc """
  Measures mailbox growth during operation.

  ## Parameters

    * `server` - The GenServer to monitor: a pid, a registered name,
      `{:global, name}` or `{:via, module, name}`
    * `operation` - Function to execute while monitoring

  ## Options

    * `:sampling_interval` - Interval in ms between mailbox samples when the
      server cannot be followed through its scheduling events, and the
      longest gap between samples otherwise (default: 10)

  ## Returns

  Map with:

    * `:initial_size` - Mailbox size before operation
    * `:final_size` - Mailbox size after operation (0 if the server died)
    * `:max_size` - Maximum mailbox size observed
    * `:avg_size` - Average mailbox size over the samples
    * `:result` - The result returned by the wrapped operation
    * `:samples` - How many samples were taken
    * `:sampling` - `:events` (followed the server's scheduling) or
      `:interval` (the server was already traced by another tool)
    * `:target` - `:alive`, or `{:down, reason}` if the server died

  ## Examples

      report = measure_mailbox_growth(server, fn ->
        send_many_messages(server, 1000)
      end)

      assert report.max_size < 100
  """
  @spec measure_mailbox_growth(GenServer.server(), (-> any()), keyword()) :: map()
  def measure_mailbox_growth(server, operation, opts \\ []) do
    Errors.translate(fn ->
      :supertester_performance.measure_mailbox_growth(server, operation, opts)
    end)
  end

  @doc """
  Asserts GenServer mailbox remains stable during operation.

  ## Options

    * `:during` - Function to execute while monitoring (required)
    * `:max_size` - Maximum mailbox size allowed (default: 100)
    * Additional options forwarded to `measure_mailbox_growth/3`

  ## Examples

      assert_mailbox_stable(server,
        during: fn ->
          perform_operations(server, 1000)
        end,
        max_size: 50
      )
  """
  @spec assert_mailbox_stable(GenServer.server(), keyword()) :: :ok
  def assert_mailbox_stable(server, opts) do
    Errors.translate(fn -> :supertester_performance.assert_mailbox_stable(server, opts) end)
  end

  @doc """
  Compares performance of multiple functions.

  ## Parameters

    * `functions` - Map of function name to function
    * `opts` - Options:
      * `:time_budget_ms` - time for the whole comparison (default: 500)
      * `:min_samples` - samples per function at least (default: 10)
      * `:max_samples` - samples per function at most (default: 10_000)
      * `:confidence` - level of the confidence intervals (default: 0.95)
      * `:alpha` - significance level across all comparisons (default: 0.05)

  ## Returns

  Map of function name to performance metrics. Each has the keys of
  `measure_operation/1` (`:memory_bytes`, `:reductions` and `:result` from
  one measured run) and:

    * `:time_us` - median time per call in microseconds (a float)
    * `:mean_us`, `:stddev_us`, `:min_us`, `:max_us`
    * `:ci_us` - `{low, high}` confidence interval of the mean
    * `:percentiles` - `%{p50: _, p90: _, p99: _, p999: _}` in microseconds
    * `:samples`, `:calls_per_sample`, `:confidence`
    * `:comparisons` - for every other function: `:ratio` of the means,
      Holm-corrected `:p_value`, `:significant`, `:verdict` (`:faster`,
      `:slower` or `:no_difference`) and `:difference_us` (interval of the
      difference of the means)

  ## Examples

      results = compare_performance(%{
        "approach_a" => fn -> approach_a() end,
        "approach_b" => fn -> approach_b() end
      })

      # Find fastest
      fastest = Enum.min_by(results, fn {_name, metrics} -> metrics.time_us end)

      # Is it really faster?
      assert results["approach_a"].comparisons["approach_b"].verdict == :faster
  """
  @spec compare_performance(map(), keyword()) :: map()
  def compare_performance(functions, opts \\ []) do
    Errors.translate(fn -> :supertester_performance.compare_performance(functions, opts) end)
  end
end
