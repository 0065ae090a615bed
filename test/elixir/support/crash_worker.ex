defmodule Supertester.Test.Crash.Worker do
  @moduledoc false
  # A stateful GenServer for the crash and supervision tests (LetItCrash,
  # SupervisorHelpers). Options, all optional:
  #   name:      what GenServer.start_link registers (an atom or a via tuple)
  #   trap_exit: traps exits (a :shutdown from anyone but its parent is
  #              then only a message)
  #   registry:  {registry, key}: registers itself there in init
  #   ets:       {table, entries}: creates the named public table in init
  #              (it owns it) and inserts the entries
  #   notify:    a pid told {:crash_worker_started, id, self()} from init
  #   id:        what notify says (default the name)
  # The state is a counter that starts at 0 on every start.
  use GenServer

  def start_link(opts \\ []) do
    case Keyword.fetch(opts, :name) do
      {:ok, name} -> GenServer.start_link(__MODULE__, opts, name: name)
      :error -> GenServer.start_link(__MODULE__, opts)
    end
  end

  def child_spec(opts) do
    %{id: Keyword.get(opts, :id, __MODULE__), start: {__MODULE__, :start_link, [opts]}}
  end

  def get(server), do: GenServer.call(server, :get)
  def increment(server), do: GenServer.call(server, :increment)

  @impl true
  def init(opts) do
    if Keyword.get(opts, :trap_exit, false), do: Process.flag(:trap_exit, true)

    case Keyword.fetch(opts, :registry) do
      {:ok, {registry, key}} -> {:ok, _} = Registry.register(registry, key, :worker)
      :error -> :ok
    end

    case Keyword.fetch(opts, :ets) do
      {:ok, {table, entries}} ->
        ^table = :ets.new(table, [:named_table, :public, :set])
        true = :ets.insert(table, entries)

      :error ->
        :ok
    end

    case Keyword.fetch(opts, :notify) do
      {:ok, pid} -> send(pid, {:crash_worker_started, Keyword.get(opts, :id, opts[:name]), self()})
      :error -> :ok
    end

    {:ok, 0}
  end

  @impl true
  def handle_call(:get, _from, n), do: {:reply, n, n}
  def handle_call(:increment, _from, n), do: {:reply, :ok, n + 1}

  @impl true
  def handle_cast({:add, k}, n), do: {:noreply, n + k}

  # Trapped exits from anyone but the parent, and anything else, are ignored
  # (without the default handler's log line).
  @impl true
  def handle_info(_msg, n), do: {:noreply, n}
end

defmodule Supertester.Test.Crash.Cache do
  @moduledoc false
  # Another worker module, so tree-structure checks can tell modules apart.
  use GenServer

  def start_link(opts \\ []), do: GenServer.start_link(__MODULE__, opts)

  @impl true
  def init(opts), do: {:ok, opts}
end
