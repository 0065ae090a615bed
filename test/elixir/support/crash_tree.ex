defmodule Supertester.Test.Crash.Sup do
  @moduledoc false
  # A supervisor configured by its start argument, a keyword list:
  #   name:         registered name (optional)
  #   strategy:     default :one_for_one
  #   max_restarts: default 3 (OTP's default)
  #   children:     child specs
  use Supervisor

  def start_link(opts), do: start_link(__MODULE__, opts)

  @doc false
  # Starts `module`'s supervisor, registered when opts has a :name.
  def start_link(module, opts) do
    case Keyword.fetch(opts, :name) do
      {:ok, name} -> Supervisor.start_link(module, opts, name: name)
      :error -> Supervisor.start_link(module, opts)
    end
  end

  @impl true
  def init(opts), do: Supertester.Test.Crash.Sup.init_from(opts)

  @doc false
  def init_from(opts) do
    Supervisor.init(Keyword.get(opts, :children, []),
      strategy: Keyword.get(opts, :strategy, :one_for_one),
      max_restarts: Keyword.get(opts, :max_restarts, 3)
    )
  end

  @doc """
  Child specs of workers registered under `names`, each with its name as
  child id; `extra` is given to every worker.
  """
  def workers(names, extra \\ []) do
    for name <- names do
      Supervisor.child_spec({Supertester.Test.Crash.Worker, [name: name, id: name] ++ extra}, id: name)
    end
  end
end

defmodule Supertester.Test.Crash.PoolSup do
  @moduledoc false
  # The same as Crash.Sup under another module name (a nested supervisor in
  # tree-structure tests).
  use Supervisor

  def start_link(opts), do: Supertester.Test.Crash.Sup.start_link(__MODULE__, opts)

  @impl true
  def init(opts), do: Supertester.Test.Crash.Sup.init_from(opts)
end

defmodule Supertester.Test.Crash.RootSup do
  @moduledoc false
  # A two-level tree:
  #   root (one_for_one, Crash.RootSup)
  #     :cache    Crash.Cache
  #     :workers  Crash.PoolSup (one_for_all)
  #                 :worker_1  Crash.Worker
  #                 :worker_2  Crash.Worker
  # Options: name (of the root), pool_name (of the nested supervisor).
  use Supervisor

  alias Supertester.Test.Crash

  def start_link(opts \\ []), do: Crash.Sup.start_link(__MODULE__, opts)

  @impl true
  def init(opts) do
    pool_opts =
      [
        strategy: :one_for_all,
        children: [
          Supervisor.child_spec({Crash.Worker, []}, id: :worker_1),
          Supervisor.child_spec({Crash.Worker, []}, id: :worker_2)
        ]
      ] ++ if(opts[:pool_name], do: [name: opts[:pool_name]], else: [])

    children = [
      Supervisor.child_spec({Crash.Cache, []}, id: :cache),
      Supervisor.child_spec({Crash.PoolSup, pool_opts}, id: :workers)
    ]

    Supervisor.init(children, strategy: :one_for_one)
  end
end
