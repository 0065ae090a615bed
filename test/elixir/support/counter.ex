defmodule Supertester.Test.Counter do
  @moduledoc false
  # A plain GenServer (no TestableGenServer): init args are kept, casts
  # increment, calls read. A catch-all handle_call answers unknown calls
  # with an error, as many real servers do.
  use GenServer

  def start_link(arg \\ 0), do: GenServer.start_link(__MODULE__, arg)

  @impl true
  def init(arg), do: {:ok, %{count: initial(arg), init_arg: arg}}

  defp initial(n) when is_integer(n), do: n
  defp initial(opts) when is_list(opts), do: Keyword.get(opts, :start, 0)
  defp initial(_), do: 0

  @impl true
  def handle_cast(:increment, state), do: {:noreply, %{state | count: state.count + 1}}

  @impl true
  def handle_call(:get, _from, state), do: {:reply, state.count, state}
  def handle_call(:init_arg, _from, state), do: {:reply, state.init_arg, state}
  def handle_call(_other, _from, state), do: {:reply, {:error, :unknown_call}, state}
end

defmodule Supertester.Test.Tree do
  @moduledoc false
  # A supervisor of three counters, :a, :b and :c, with the strategy given
  # as init argument.
  use Supervisor

  @impl true
  def init(strategy) do
    children =
      for id <- [:a, :b, :c] do
        Supervisor.child_spec({Supertester.Test.Counter, 0}, id: id)
      end

    Supervisor.init(children, strategy: strategy)
  end
end

defmodule Supertester.Test.FailingInit do
  @moduledoc false
  # init/1 refuses to start.
  use GenServer

  @impl true
  def init(_), do: {:stop, :refused}
end

defmodule Supertester.Test.NoCalls do
  @moduledoc false
  # No handle_call/3 of its own: any call crashes it.
  use GenServer

  @impl true
  def init(n), do: {:ok, n}

  @impl true
  def handle_cast(:increment, n), do: {:noreply, n + 1}
end
