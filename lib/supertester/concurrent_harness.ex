defmodule Supertester.ConcurrentHarness do
  @moduledoc """
  Scenario-based concurrency harness for OTP processes: thread scripts of
  calls, casts and custom functions run against one process, with an
  optional chaos hook, mailbox and performance measurement, and an
  invariant checked at the end.

      scenario =
        Supertester.ConcurrentHarness.simple_genserver_scenario(
          CounterServer,
          [{:cast, :increment}, {:call, :value}],
          4,
          chaos: Supertester.ConcurrentHarness.chaos_inject_crash({:random, 0.5}),
          invariant: fn server, ctx -> ctx.metrics.total_operations == 8 end
        )

      assert {:ok, report} = Supertester.ConcurrentHarness.run(scenario)

  The order in which the threads' operations reach the process is drawn
  from the scenario's seed (by default ExUnit's `--seed`), as is the step
  at which the chaos hook starts: the same seed replays the same
  interleaving. The report carries `:seed` and `:schedule` (the thread of
  each step) besides 0.5.1's `:events`, `:threads`, `:metrics`,
  `:mailbox`, `:chaos`, `:performance`, `:metadata` and `:context`.

  `:supertester_harness` (Erlang) documents how a run goes.
  """

  alias Supertester.Internal.Errors

  @type operation :: {:call, term()} | {:cast, term()} | {:custom, (pid() -> any())}
  @type thread_script :: [operation()]
  @type chaos_fun :: (pid(), map() -> any())

  defmodule Scenario do
    @moduledoc """
    Struct describing a prepared concurrent scenario. Most callers build it
    with `Supertester.ConcurrentHarness` helpers. `:seed` (nil: ExUnit's)
    fixes the interleaving.
    """

    @enforce_keys [:setup, :threads]
    defstruct setup: nil,
              threads: [],
              timeout_ms: 5_000,
              invariant: &Supertester.ConcurrentHarness.default_invariant/2,
              cleanup: nil,
              metadata: %{},
              call_timeout_ms: 1_000,
              cast_sync_message: :__supertester_sync__,
              strict_cast_sync?: false,
              default_operation: :call,
              mailbox: nil,
              chaos: nil,
              performance_expectations: [],
              seed: nil

    @type t :: %__MODULE__{
            setup: (-> {:ok, pid()} | {:ok, pid(), map()} | {:error, term()}),
            threads: [[Supertester.ConcurrentHarness.operation()]],
            timeout_ms: pos_integer(),
            invariant: (pid(), map() -> any()),
            cleanup: (pid(), map() -> any()) | nil,
            metadata: map(),
            call_timeout_ms: pos_integer(),
            cast_sync_message: term(),
            strict_cast_sync?: boolean(),
            default_operation: :call | :cast,
            mailbox: keyword() | nil,
            chaos: Supertester.ConcurrentHarness.chaos_fun() | nil,
            performance_expectations: keyword(),
            seed: non_neg_integer() | nil
          }

    @doc false
    @spec build(t() | map() | keyword()) :: t()
    def build(attrs) do
      Errors.translate(fn -> from_erlang(:supertester_harness.scenario(attrs)) end)
    end

    @doc false
    def from_erlang(map) do
      fields = for {key, value} <- map, into: %{}, do: {key, if(value == :undefined, do: nil, else: value)}
      struct!(__MODULE__, fields)
    end
  end

  @type scenario :: Scenario.t() | map() | keyword()

  @doc "Runs a concurrent scenario and returns a diagnostic report."
  @spec run(scenario()) :: {:ok, map()} | {:error, term()}
  def run(scenario) do
    Errors.translate(fn -> scenario |> to_erlang() |> :supertester_harness.run() |> from_result() end)
  end

  @doc """
  Runs a scenario measured as a whole, and raises `ExUnit.AssertionError`
  when the measurement breaks `expectations` (`:max_time_ms`,
  `:max_memory_bytes`, `:max_reductions`). Returns the run's result.
  """
  @spec run_with_performance(scenario(), keyword()) :: {:ok, map()} | {:error, term()}
  def run_with_performance(scenario, expectations) do
    Errors.translate(fn ->
      scenario
      |> to_erlang()
      |> :supertester_harness.run_with_performance(expectations)
      |> from_result()
    end)
  end

  @doc "Default invariant that simply returns `:ok`."
  @spec default_invariant(pid(), map()) :: :ok
  def default_invariant(_pid, _ctx), do: :ok

  @doc """
  Builds a scenario of `thread_count` threads, each running `operations`
  against a server started with `module.start_link(server_opts)`.

  Options: `:server_opts`, `:setup` (instead of start_link), `:cleanup`
  (default: stop the server), `:default_operation` (`:call`; how bare
  terms are sent), `:call_timeout_ms` (1_000), `:timeout_ms` (5_000),
  `:invariant`, `:metadata`, `:mailbox`, `:chaos`,
  `:performance_expectations`, `:seed`, `:cast_sync_message`,
  `:strict_cast_sync?`. The server the default setup starts is not linked
  to the test process, so a chaos crash does not end the test, but it
  stops when the test process exits.
  """
  @spec simple_genserver_scenario(module(), [term() | operation()], pos_integer(), keyword()) ::
          Scenario.t()
  def simple_genserver_scenario(module, operations, thread_count, opts \\ []) do
    Errors.translate(fn ->
      module
      |> :supertester_harness.simple_genserver_scenario(operations, thread_count, opts)
      |> Scenario.from_erlang()
    end)
  end

  @doc """
  Converts a property config (`:thread_scripts`, and any scenario field)
  into a scenario; the config's fields win over `opts`, except metadata,
  merged as in 0.5.1: the module, then the config's, then the options'.
  """
  @spec from_property_config(module(), map(), keyword()) :: Scenario.t()
  def from_property_config(module, config, opts \\ []) do
    Errors.translate(fn ->
      module
      |> :supertester_harness.from_property_config(config, opts)
      |> Scenario.from_erlang()
    end)
  end

  @doc """
  Chaos hook that kills the subject supervisor's children with
  `Supertester.ChaosHelpers.chaos_kill_children/2`, seeded by the
  scenario unless `opts` has a `:seed`.
  """
  @spec chaos_kill_children(keyword()) :: chaos_fun()
  def chaos_kill_children(opts \\ []) do
    Errors.translate(fn -> :supertester_harness.chaos_kill_children(opts) end)
  end

  @doc """
  Chaos hook that crashes the subject with
  `Supertester.ChaosHelpers.inject_crash/3` (`:immediate`,
  `{:after_ms, ms}`, `{:random, p}`).
  """
  @spec chaos_inject_crash(Supertester.ChaosHelpers.crash_spec(), keyword()) :: chaos_fun()
  def chaos_inject_crash(spec \\ :immediate, opts \\ []) do
    Errors.translate(fn -> :supertester_harness.chaos_inject_crash(spec, opts) end)
  end

  @doc false
  # For ChaosHelpers.run_chaos_suite's :concurrent entries.
  # No ExUnit seed here: the suite gives its own seed to entries without one.
  def prepare(scenario), do: to_erlang(scenario, false)

  # The Erlang side says :undefined where Elixir says nil: the invariant
  # and the chaos hook see nil, and ExUnit's seed is the default seed.
  defp to_erlang(scenario, default_seed? \\ true)

  defp to_erlang(%Scenario{} = scenario, default_seed?),
    do: scenario |> Map.from_struct() |> to_erlang(default_seed?)

  defp to_erlang(attrs, default_seed?) when is_list(attrs) do
    if Keyword.keyword?(attrs), do: attrs |> Map.new() |> to_erlang(default_seed?), else: attrs
  end

  defp to_erlang(attrs, default_seed?) when is_map(attrs) do
    attrs = attrs |> Map.update(:invariant, nil, &with_nil_context/1) |> Map.update(:chaos, nil, &with_nil_context/1)
    if default_seed?, do: with_seed(attrs), else: attrs
  end

  defp to_erlang(other, _default_seed?), do: other

  defp with_nil_context(fun) when is_function(fun, 2), do: fn pid, ctx -> fun.(pid, nilify(ctx)) end
  defp with_nil_context(other), do: other

  defp with_seed(attrs) do
    case {Map.get(attrs, :seed), Supertester.Internal.Seed.ex_unit_seed()} do
      {nil, seed} when is_integer(seed) -> Map.put(attrs, :seed, seed)
      _ -> attrs
    end
  end

  defp from_result({:ok, report}), do: {:ok, nilify(report)}

  defp from_result({:error, {:performance_failed, %{error: {:assertion_failed, %{message: message}}} = info}}),
    do: {:error, {:performance_failed, %{info | error: ExUnit.AssertionError.exception(message: message)}}}

  defp from_result(other), do: other

  defp nilify(map) when is_map(map) do
    Map.new(map, fn
      {key, :undefined} when key in [:chaos, :mailbox, :performance] -> {key, nil}
      pair -> pair
    end)
  end
end
