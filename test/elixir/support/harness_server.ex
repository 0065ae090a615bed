defmodule Supertester.Test.HarnessServer do
  @moduledoc false
  # A GenServer for the ConcurrentHarness tests. It keeps, in order, every
  # `{:log, tag}` it receives (by call or by cast), so a test can compare
  # the order in which messages reached it with the harness's schedule.
  #
  # Calls: {:log, tag} (-> :ok), :log (the tags, oldest first), :crash
  # (raises), :no_reply (never answered). Casts: {:log, tag}.
  #
  # Options, all optional:
  #   notify:    a pid told {:harness_server, :started, self()} from init and
  #              {:harness_server, :terminated, self(), reason} from terminate
  #   trap_exit: traps exits, so an exit signal from anyone but the parent
  #              stops the server through terminate (and notify) with the
  #              signal's reason
  use GenServer

  def start_link(opts \\ []), do: GenServer.start_link(__MODULE__, opts)

  @impl true
  def init(opts) do
    if Keyword.get(opts, :trap_exit, false), do: Process.flag(:trap_exit, true)
    notify = Keyword.get(opts, :notify)
    if notify, do: send(notify, {:harness_server, :started, self()})
    {:ok, %{log: [], notify: notify}}
  end

  @impl true
  def handle_call({:log, tag}, _from, state), do: {:reply, :ok, %{state | log: [tag | state.log]}}
  def handle_call(:log, _from, state), do: {:reply, Enum.reverse(state.log), state}
  def handle_call(:crash, _from, _state), do: raise("crash requested")
  def handle_call(:no_reply, _from, state), do: {:noreply, state}

  @impl true
  def handle_cast({:log, tag}, state), do: {:noreply, %{state | log: [tag | state.log]}}

  @impl true
  def handle_info({:EXIT, _from, reason}, state), do: {:stop, reason, state}
  def handle_info(_other, state), do: {:noreply, state}

  @impl true
  def terminate(reason, %{notify: notify}) do
    if notify, do: send(notify, {:harness_server, :terminated, self(), reason})
    :ok
  end
end
