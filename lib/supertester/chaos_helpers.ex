defmodule Supertester.ChaosHelpers do
  @moduledoc """
  Chaos engineering with a seed: crash injection, killing children,
  resource exhaustion, and checks that a system recovers.

      import Supertester.ChaosHelpers

      test "the tree survives random kills" do
        {:ok, sup} = setup_isolated_supervisor(MyApp.WorkerSup)
        report = chaos_kill_children(sup, kill_rate: 0.5, duration_ms: 1000)
        assert report.supervisor_crashed == false
      end

  Every random decision is drawn from one seed, by default ExUnit's
  `--seed`: the same seed on the same tree kills the same children in the
  same order. Reports carry the seed and the plan (`report.plan`), and a
  failed `assert_chaos_resilient/4` prints the seed with the command that
  reruns it. The Erlang module `:supertester_chaos` documents each function
  and offers them to EUnit and Common Test.
  """

  alias Supertester.Internal.{Errors, Seed}

  @type crash_spec :: :immediate | {:after_ms, pos_integer()} | {:random, float()}
  @type chaos_report :: %{
          killed: non_neg_integer(),
          restarted: non_neg_integer(),
          supervisor_crashed: boolean(),
          duration_ms: non_neg_integer(),
          seed: non_neg_integer(),
          plan: binary(),
          timeline: [map()]
        }

  @doc """
  Crashes a process: `:immediate`, `{:after_ms, ms}` or `{:random, p}`.
  Options: `:reason` (default `:chaos_injection`), `:seed`. Successive
  random crashes in a test draw successive values of the seed's stream. A
  process that is already dead is left alone (`:ok`).
  """
  @spec inject_crash(pid() | atom(), crash_spec(), keyword()) :: :ok
  def inject_crash(target, crash_spec, opts \\ []) do
    Errors.translate(fn -> :supertester_chaos.inject_crash(target, crash_spec, with_seed(opts)) end)
  end

  @doc """
  Kills children following a plan made from the seed. Options:
  `:kill_rate` (0.3: the probability that a tick kills one child; a run
  kills at least once, even at rate 0 or shorter than one interval),
  `:duration_ms` (5000), `:kill_interval_ms` (100), `:kill_reason`
  (`:kill`), `:seed` (ExUnit's), `:jitter_pct` (0), `:max_kills` (1000),
  `:respect_intensity` (false: when true, stays within the supervisor's
  restart intensity), `:recovery_timeout` (5000).

  The report has `:killed`, `:restarted`, `:supervisor_crashed`,
  `:duration_ms`, and `:seed`, `:plan` and `:timeline`.
  """
  @spec chaos_kill_children(Supervisor.supervisor(), keyword()) :: chaos_report()
  def chaos_kill_children(supervisor, opts \\ []) do
    Errors.translate(fn -> :supertester_chaos.chaos_kill_children(supervisor, with_seed(opts)) end)
  end

  @doc """
  Takes resources until the returned cleanup function runs (or the test
  process exits): `:process_limit` (`:spawn_count`, or `:percentage` of the
  free slots, default 0.8), `:ets_tables` (`:count` or `:percentage`),
  `:memory` (`:count` binaries of 1 MB, default 10). At most 90% of a limit.
  """
  @spec simulate_resource_exhaustion(atom(), keyword()) :: {:ok, (-> :ok)} | {:error, term()}
  def simulate_resource_exhaustion(resource, opts \\ []) do
    Errors.translate(fn -> :supertester_chaos.simulate_resource_exhaustion(resource, opts) end)
  end

  @doc """
  Runs `chaos_fn`, then waits up to `:timeout` ms (default 5000) for
  `recovery_fn` to return true, checking after each of the supervisor's
  trace events. Raises `ExUnit.AssertionError` with the seed otherwise.
  """
  @spec assert_chaos_resilient(pid(), (-> any()), (-> boolean()), keyword()) :: :ok
  def assert_chaos_resilient(system, chaos_fn, recovery_fn, opts \\ []) do
    Errors.translate(fn -> :supertester_chaos.assert_chaos_resilient(system, chaos_fn, recovery_fn, opts) end)
  end

  @doc """
  Runs scenario maps (`%{type: :kill_children, ...}`,
  `%{type: :inject_crash, child: id, spec: spec}`,
  `%{type: :resource_exhaustion, resource: r, ...}`,
  `%{type: :concurrent, scenario: s}` or `%{type: :concurrent, build: fn sup -> s end}`
  with a `Supertester.ConcurrentHarness` scenario) and checks after each
  that the supervisor survived and recovered, within `:timeout` ms for the
  whole suite (default 30_000). Returns `:total_scenarios`, `:passed`,
  `:failed`, `:failures`, `:results` and `:duration_ms`.
  """
  @spec run_chaos_suite(pid(), [map()], keyword()) :: map()
  def run_chaos_suite(target, scenarios, opts \\ []) do
    Errors.translate(fn ->
      :supertester_chaos.run_chaos_suite(target, prepare_concurrent(scenarios), with_seed(opts))
    end)
  end

  # :concurrent entries hold ConcurrentHarness scenarios: their invariant
  # and chaos hook get the context Elixir expects.
  defp prepare_concurrent(scenarios) when is_list(scenarios) do
    Enum.map(scenarios, fn
      %{type: :concurrent, scenario: scenario} = entry ->
        %{entry | scenario: Supertester.ConcurrentHarness.prepare(scenario)}

      %{type: :concurrent, build: build} = entry when is_function(build, 1) ->
        %{entry | build: fn target -> Supertester.ConcurrentHarness.prepare(build.(target)) end}

      other ->
        other
    end)
  end

  defp prepare_concurrent(other), do: other

  # ExUnit's seed drives the chaos unless the test gives one. Anything
  # that is not a keyword list or map goes through as is, for the Erlang
  # side to refuse with an ArgumentError.
  defp with_seed(opts) when is_map(opts) do
    case Seed.ex_unit_seed() do
      seed when is_integer(seed) -> Map.put_new(opts, :seed, seed)
      _ -> opts
    end
  end

  defp with_seed(opts) when is_list(opts) do
    if Keyword.keyword?(opts) and not Keyword.has_key?(opts, :seed) and is_integer(Seed.ex_unit_seed()) do
      Keyword.put(opts, :seed, Seed.ex_unit_seed())
    else
      opts
    end
  end

  defp with_seed(opts), do: opts
end
