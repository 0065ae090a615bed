defmodule Supertester.Test.TestableCounter do
  @moduledoc false
  # A GenServer made testable the way users do it. It lives in support/,
  # which is compiled with warnings_as_errors: a warning from the injected
  # code would fail the build.
  use GenServer
  use Supertester.TestableGenServer

  def start_link(count \\ 0), do: GenServer.start_link(__MODULE__, count)

  @impl true
  def init(count), do: {:ok, count}

  @impl true
  def handle_cast(:inc, count), do: {:noreply, count + 1}

  # Tells `pid` once the cast has been handled, so a test can see that the
  # sync call returned after it.
  def handle_cast({:inc_and_tell, pid}, count) do
    send(pid, {:handled, count + 1})
    {:noreply, count + 1}
  end

  @impl true
  def handle_call(:get, _from, count), do: {:reply, count, count}
  def handle_call(_message, _from, count), do: {:reply, {:error, :unknown_call}, count}
end
