defmodule Supertester.UnifiedTestFoundation do
  @moduledoc """
  Isolation runtime for OTP-heavy tests.

  Use `Supertester.ExUnitFoundation` for the ready-made ExUnit adapter, or
  call `setup_isolation/2` from a custom harness:

      setup context do
        Supertester.UnifiedTestFoundation.setup_isolation(:full_isolation, context)
      end

  ## Isolation modes

    * `:basic` - unique names for everything started through Supertester,
      and cleanup when the test ends (async).
    * `:registry` - and a per-test `Registry` in `isolation_context.registry`,
      so `{:via, Registry, {registry, key}}` names never collide (async).
    * `:full_isolation` - both (async).
    * `:contamination_detection` - a snapshot of every process, ETS table and
      registered name is taken in C at setup; after cleanup, whatever appeared
      since is reported with its pid, initial call and name, then removed.
      Synchronous only. By default the report is a warning (as in 0.5.1);
      `setup_isolation/3` with `contamination: :fail` makes it fail the test.

  ## How it differs from 0.5.1

  The record of what a test started lives in the C core and watches its
  processes with monitors, so one that dies during the test is forgotten at
  once and cleanup never waits on it. Names come from bounded pools instead
  of a new atom per test and per server (0.5.1 grew the atom table without
  limit), the per-test registry is named from the same pools, and test ids
  are integers.
  """

  alias Supertester.{Env, IsolationContext}
  alias Supertester.Internal.{Context, Errors}

  require Logger

  @modes [:basic, :registry, :full_isolation, :contamination_detection]

  @doc "Deprecated macro maintained for backwards compatibility."
  defmacro __using__(opts) do
    IO.warn(
      "use Supertester.UnifiedTestFoundation is deprecated: it only manages isolation now. " <>
        "Use Supertester.ExUnitFoundation for ExUnit integration.",
      Macro.Env.stacktrace(__CALLER__)
    )

    quote do
      import Supertester.UnifiedTestFoundation
      use Supertester.ExUnitFoundation, unquote(opts)
    end
  end

  @doc """
  Sets up test isolation based on the specified isolation type, and
  registers its cleanup with `Supertester.Env.on_exit/1`. Returns the
  context with `:isolation_context` added.
  """
  @spec setup_isolation(atom(), map()) :: {:ok, map()}
  def setup_isolation(isolation_type, context), do: setup_isolation(isolation_type, context, [])

  @doc """
  Like `setup_isolation/2`, with options:

    * `:contamination` - `:warn` (default) logs what a
      `:contamination_detection` test left behind; `:fail` fails the test.
  """
  @spec setup_isolation(atom(), map(), keyword()) :: {:ok, map()}
  def setup_isolation(isolation_type, context, opts) when is_map(context) and is_list(opts) do
    check_mode!(isolation_type)
    on_leak = Keyword.get(opts, :contamination, :warn)

    unless on_leak in [:warn, :fail] do
      raise ArgumentError, "contamination: expects :warn or :fail, got: #{inspect(on_leak)}"
    end

    runtime =
      Errors.translate(fn ->
        :supertester_isolation.setup(isolation_type, %{
          tags: tags(context, isolation_type),
          auto_teardown: false,
          contamination: :report,
          registry_starter: &start_registry/1
        })
      end)

    Env.on_exit(fn -> teardown(runtime, on_leak) end)
    ctx = Context.put(IsolationContext.from_runtime(runtime))
    {:ok, Map.put(context, :isolation_context, ctx)}
  end

  def setup_isolation(_type, context, opts) do
    raise ArgumentError,
          "setup_isolation expects the test context map and a keyword list, got: " <>
            "#{inspect(context)} and #{inspect(opts)}"
  end

  defp check_mode!(mode) when mode in @modes, do: :ok

  defp check_mode!(mode) do
    raise ArgumentError,
          "unknown isolation mode #{inspect(mode)}; expected one of #{inspect(@modes)}"
  end

  defp tags(context, mode) do
    context
    |> Map.take([:module, :test, :file, :line, :async])
    |> Map.put(:isolation, mode)
  end

  # Elixir tests get an Elixir Registry, so {:via, Registry, ...} works.
  defp start_registry(name), do: Registry.start_link(keys: :unique, name: name)

  defp teardown(runtime, on_leak) do
    case :supertester_isolation.teardown(runtime) do
      :ok ->
        :ok

      {:leaked, leaks} ->
        message = :supertester_isolation.format_leaks(leaks) <> "Test: #{inspect(runtime.tags)}"

        case on_leak do
          :warn -> Logger.warning(message)
          :fail -> raise ExUnit.AssertionError, message: message
        end
    end
  end

  @doc "Fetches the isolation context stored in the current process."
  @spec fetch_isolation_context() :: IsolationContext.t() | nil
  def fetch_isolation_context, do: Context.fetch()

  @doc "Stores the isolation context in the current process."
  @spec put_isolation_context(IsolationContext.t() | nil) :: IsolationContext.t() | nil
  def put_isolation_context(context), do: Context.put(context)

  @doc """
  Adds a tracked process to the isolation context: cleanup stops it when
  the test ends (unless it died before).
  """
  @spec add_tracked_process(IsolationContext.t(), IsolationContext.process_info()) ::
          IsolationContext.t()
  def add_tracked_process(%IsolationContext{} = ctx, %{pid: pid} = process_info) when is_pid(pid) do
    track(ctx, fn runtime ->
      :supertester_isolation.track_process(runtime, pid, %{kind: :supertester_proc.kind(pid)})
    end)

    %{ctx | processes: [process_info | ctx.processes]}
  end

  @doc "Adds a tracked ETS table to the isolation context: cleanup deletes it."
  @spec add_tracked_ets_table(IsolationContext.t(), term()) :: IsolationContext.t()
  def add_tracked_ets_table(%IsolationContext{} = ctx, table) do
    track(ctx, fn runtime -> :supertester_isolation.track_ets(runtime, table) end)
    %{ctx | ets_tables: [table | ctx.ets_tables]}
  end

  @doc "Adds a cleanup callback, run when the test ends (newest first)."
  @spec add_cleanup_callback(IsolationContext.t(), (-> any())) :: IsolationContext.t()
  def add_cleanup_callback(%IsolationContext{} = ctx, callback) when is_function(callback, 0) do
    track(ctx, fn runtime -> :supertester_isolation.add_cleanup(runtime, callback) end)
    %{ctx | cleanup_callbacks: [callback | ctx.cleanup_callbacks]}
  end

  defp track(%IsolationContext{runtime: nil}, _fun), do: :ok

  defp track(%IsolationContext{runtime: runtime}, fun) do
    case fun.(runtime) do
      :ok -> :ok
      {:error, :exists} -> :ok
      {:error, :noproc} -> :ok
      {:error, :closed} -> raise ArgumentError, "this isolation context was already torn down"
    end
  end

  @doc "Returns whether the isolation type allows async testing."
  @spec isolation_allows_async?(atom()) :: boolean()
  def isolation_allows_async?(mode) do
    check_mode!(mode)
    :supertester_isolation.allows_async(mode)
  end

  @doc "Returns the test timeout associated with the isolation type, in ms."
  @spec isolation_timeout(atom()) :: non_neg_integer()
  def isolation_timeout(mode) do
    check_mode!(mode)
    :supertester_isolation.timeout(mode)
  end

  @doc """
  Verifies test isolation has been maintained. For
  `:contamination_detection` it checks that nothing appeared since setup
  that the test does not track; otherwise that every tracked process is
  alive. `true` when the context has no isolation context.
  """
  @spec verify_test_isolation(map()) :: boolean()
  def verify_test_isolation(context) do
    case Map.get(context, :isolation_context) do
      %IsolationContext{runtime: runtime} when runtime != nil -> :supertester_isolation.verify(runtime)
      _ -> true
    end
  end

  @doc """
  Waits until every child of the supervisor is running:
  `{:ok, pid}` or `{:error, :timeout}`.
  """
  @spec wait_for_supervision_tree_ready(pid(), non_neg_integer()) ::
          {:ok, pid()} | {:error, :timeout}
  def wait_for_supervision_tree_ready(supervisor_pid, timeout \\ 5000) do
    Errors.translate(fn -> :supertester_otp.wait_for_supervisor_restart(supervisor_pid, timeout) end)
  end
end
