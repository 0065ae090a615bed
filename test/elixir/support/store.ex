defmodule Supertester.Test.Store do
  @moduledoc false
  # A real GenServer for the tests. It can be held (it then waits inside
  # handle_cast, so its mailbox fills up deterministically), and it keeps
  # what it is given: all of it (a leak) or the last few (a bounded cache).
  use GenServer

  def start_link(_ \\ []), do: GenServer.start_link(__MODULE__, [])
  def start(_ \\ []), do: GenServer.start(__MODULE__, [])

  @doc "Returns once the server is waiting, its mailbox empty at that moment."
  def hold(server) do
    GenServer.cast(server, {:hold, self()})

    receive do
      {:held, ^server} -> :ok
    end
  end

  def release(server) do
    send(server, :release)
    GenServer.call(server, :sync)
  end

  def put(server, item), do: GenServer.call(server, {:put, item})
  def put_last(server, item, keep), do: GenServer.call(server, {:put_last, item, keep})

  @impl true
  def init([]), do: {:ok, []}

  @impl true
  def handle_call(:sync, _from, items), do: {:reply, :ok, items}
  def handle_call({:put, item}, _from, items), do: {:reply, :ok, [item | items]}

  def handle_call({:put_last, item, keep}, _from, items),
    do: {:reply, :ok, Enum.take([item | items], keep)}

  @impl true
  def handle_cast({:hold, caller}, items) do
    send(caller, {:held, self()})

    receive do
      :release -> :ok
    end

    {:noreply, items}
  end

  def handle_cast(:work, items), do: {:noreply, items}
end
