# Section of `make bench` (run by bench_isolation.erl through `mix run`):
# what Supertester's isolation costs a real ExUnit suite, against the plain
# ExUnit way of starting a server per test, start_supervised!/1.
#
# Each variant is a generated test module whose tests start one GenServer
# and call it once:
#   plain        use ExUnit.Case;                 start_supervised!({Counter, 0})
#   plain+reg    the same plus a per-test Registry (start_supervised!, named
#                with a new atom per test, as a user would), which is what
#                :full_isolation gives besides the server
#   full         use Supertester.ExUnitFoundation, isolation: :full_isolation;
#                setup_isolated_genserver(Counter)
#   basic        the same with isolation: :basic (no per-test registry)
# Two measures, each variant run in every round (order rotating), medians:
#   per test     a synchronous suite of 500 tests: wall time / 500, setup
#                and cleanup included
#   async suite  the wall time of a 200-test async suite
# Prints one "RESULT name value" line per measure for the Erlang driver.

ExUnit.start(autorun: false, formatters: [])

defmodule Bench.Counter do
  use GenServer
  def start_link(n), do: GenServer.start_link(__MODULE__, n)
  @impl true
  def init(n), do: {:ok, n}
  @impl true
  def handle_call(:get, _from, n), do: {:reply, n, n}
end

defmodule Bench.Isolation do
  @rounds 7
  @variants [:plain, :plain_registry, :full, :basic]

  def run do
    IO.puts("  #{@rounds} rounds, variants interleaved; median of each")

    results =
      for {measure, tests, async} <- [{:per_test, 500, false}, {:async_suite, 200, true}],
          into: %{} do
        samples =
          for round <- 1..@rounds, variant <- rotate(@variants, round), reduce: %{} do
            acc -> Map.update(acc, variant, [time(variant, tests, async)], &[time(variant, tests, async) | &1])
          end

        {measure, Map.new(samples, fn {v, ts} -> {v, median(ts)} end)}
      end

    report(results)
  end

  defp rotate(list, n), do: Enum.drop(list, rem(n, length(list))) ++ Enum.take(list, rem(n, length(list)))

  defp median(xs), do: xs |> Enum.sort() |> Enum.at(div(length(xs), 2))

  # Compiles a fresh module of `tests` tests for the variant and times
  # ExUnit running it (microseconds).
  defp time(variant, tests, async) do
    name = :"Elixir.Bench.#{variant}#{System.unique_integer([:positive])}Test"
    Code.compile_string(source(variant, name, tests, async))
    {us, %{failures: 0, total: ^tests}} = :timer.tc(fn -> ExUnit.run() end)
    :code.purge(name)
    :code.delete(name)
    us
  end

  # Plain ExUnit; with a Registry too when `variant` is :plain_registry.
  defp source(variant, name, tests, async) when variant in [:plain, :plain_registry] do
    registry =
      if variant == :plain_registry do
        """
          registry = :"bench_registry_\#{System.unique_integer([:positive])}"
          start_supervised!({Registry, keys: :unique, name: registry})
        """
      else
        ""
      end

    """
    defmodule #{inspect(name)} do
      use ExUnit.Case, async: #{async}
      for i <- 1..#{tests} do
        test "t\#{i}" do
    #{registry}      pid = start_supervised!({Bench.Counter, 0})
          0 = GenServer.call(pid, :get)
        end
      end
    end
    """
  end

  defp source(mode, name, tests, async) do
    isolation = if mode == :full, do: :full_isolation, else: :basic

    """
    defmodule #{inspect(name)} do
      use Supertester.ExUnitFoundation, isolation: #{inspect(isolation)}, async: #{async}
      for i <- 1..#{tests} do
        test "t\#{i}" do
          {:ok, pid} = Supertester.OTPHelpers.setup_isolated_genserver(Bench.Counter, "", init_args: 0)
          0 = GenServer.call(pid, :get)
        end
      end
    end
    """
  end

  defp report(%{per_test: per, async_suite: suite}) do
    IO.puts("  measure                       plain  plain+Registry  full_isolation   basic")

    row = fn label, m, scale ->
      :io_lib.format("  ~-26s ~8.1f ~14.1f ~15.1f ~7.1f", [
        label,
        m.plain / scale,
        m.plain_registry / scale,
        m.full / scale,
        m.basic / scale
      ])
    end

    IO.puts(row.("per test (500, sync), us", per, 500))
    IO.puts(row.("200-test async suite, ms", suite, 1000))

    ratios = [
      {"per_test_full_vs_plain", per.full / per.plain},
      {"per_test_full_vs_plain_registry", per.full / per.plain_registry},
      {"per_test_basic_vs_plain", per.basic / per.plain},
      {"async_suite_full_vs_plain", suite.full / suite.plain},
      {"async_suite_full_vs_plain_registry", suite.full / suite.plain_registry},
      {"async_suite_basic_vs_plain", suite.basic / suite.plain}
    ]

    for {name, ratio} <- ratios, do: IO.puts("RESULT #{name} #{Float.round(ratio, 3)}")
    IO.puts("RESULT names_created #{:supertester_isolation.name_stats().created}")
  end
end

Bench.Isolation.run()
