defmodule Supertester.Internal.Context do
  @moduledoc false
  # The calling process's isolation context, on both sides: the Erlang
  # runtime's map (process dictionary key of :supertester_isolation) and the
  # %Supertester.IsolationContext{} struct (under :isolation_context, where
  # Supertester 0.5.1 kept it).

  alias Supertester.IsolationContext

  @key :isolation_context

  @spec fetch() :: IsolationContext.t() | nil
  def fetch, do: Process.get(@key)

  @spec put(IsolationContext.t() | nil) :: IsolationContext.t() | nil
  def put(nil) do
    Process.delete(@key)
    :supertester_isolation.put_current(:undefined)
    nil
  end

  def put(%IsolationContext{runtime: runtime} = ctx) do
    Process.put(@key, ctx)
    if runtime, do: :supertester_isolation.put_current(runtime)
    ctx
  end

  @doc """
  The current context: this process's, else that of the test it works for
  ($callers, $ancestors), else one made on first use: a :basic one, torn
  down by the test runner's on_exit (Supertester.Env), or, outside a test,
  when the calling process exits.
  """
  @spec ensure() :: IsolationContext.t()
  def ensure do
    case fetch() do
      %IsolationContext{runtime: runtime} = ctx when runtime != nil ->
        ctx

      _ ->
        runtime =
          case :supertester_isolation.current() do
            :undefined -> inherited_or_new()
            runtime -> runtime
          end

        put(IsolationContext.from_runtime(runtime))
    end
  end

  # A task or process working for a test belongs to that test's context.
  defp inherited_or_new do
    case :supertester_isolation.inherited() do
      :undefined -> create()
      runtime -> runtime
    end
  end

  defp create do
    runtime = :supertester_isolation.setup(:basic, %{auto_teardown: false})

    try do
      Supertester.Env.on_exit(fn -> :supertester_isolation.teardown(runtime) end)
    rescue
      # Not in a test process: the janitor cleans up when we exit.
      _ -> :ok = :supertester_isolation.watch_owner(runtime)
    end

    runtime
  end

  @doc "Notes a process started through the helpers in the struct."
  @spec note_process(pid(), module()) :: :ok
  def note_process(pid, module) do
    ctx = ensure()

    name =
      case Process.info(pid, :registered_name) do
        {:registered_name, name} when is_atom(name) -> name
        _ -> nil
      end

    put(%{ctx | processes: [%{pid: pid, name: name, module: module} | ctx.processes]})
    :ok
  end
end
