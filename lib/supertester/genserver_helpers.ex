defmodule Supertester.GenServerHelpers do
  @moduledoc """
  Helpers for testing GenServers: safe state access, deterministic
  synchronisation, concurrency and crash recovery.

      import Supertester.GenServerHelpers

      test "cast is applied" do
        {:ok, server} = Supertester.OTPHelpers.setup_isolated_genserver(Counter)
        :ok = cast_and_sync(server, :increment)
        {:ok, state} = get_server_state_safely(server)
        assert state.count == 1
      end

  Servers may be pids, registered names, `{:global, name}` or
  `{:via, module, name}`.

  ## Stricter than 0.5.1

    * `cast_and_sync/4` on a server without the sync handler of
      `Supertester.TestableGenServer` synchronises through `:sys.get_state`
      instead of crashing the server with an unknown call; with
      `strict?: true` it raises `ArgumentError` instead, also when a
      catch-all `handle_call` answers the sync call with an error.
    * `test_server_crash_recovery/2` finds a server given by pid again
      through its supervisor, and reports at once when nothing supervises it.
    * `stress_test_server/4` is seeded (`:seed` option, returned in the
      stats) so a run can be replayed.

  The Erlang module `:supertester_genserver` holds the logic.
  """

  alias Supertester.Internal.Errors

  @doc "Safely retrieves the internal state of a GenServer: `{:ok, state}` or `{:error, reason}`."
  @spec get_server_state_safely(GenServer.server()) :: {:ok, term()} | {:error, term()}
  def get_server_state_safely(server) do
    Errors.translate(fn -> :supertester_genserver.get_server_state_safely(server) end)
  end

  @doc "Makes a GenServer call: `{:ok, reply}` or `{:error, :noproc | :timeout | reason}`."
  @spec call_with_timeout(GenServer.server(), term(), timeout()) :: {:ok, term()} | {:error, term()}
  def call_with_timeout(server, message, timeout \\ 1000) do
    Errors.translate(fn -> :supertester_genserver.call_with_timeout(server, message, timeout) end)
  end

  @doc """
  Sends a cast and returns once the server has processed it.

  ## Options

    * `:timeout` - for the synchronising call, in ms (default 5000)
    * `:strict?` - raise `ArgumentError` when the server has no sync handler
      (default `false`)

      :ok = cast_and_sync(counter_pid, :increment)
  """
  @spec cast_and_sync(GenServer.server(), term(), term(), keyword()) ::
          :ok | {:ok, term()} | {:error, term()}
  def cast_and_sync(server, cast_message, sync_message \\ :__supertester_sync__, opts \\ []) do
    Errors.translate(fn ->
      :supertester_genserver.cast_and_sync(server, cast_message, sync_message, opts)
    end)
  end

  @doc """
  Makes `count` concurrent calls of each message and groups the outcomes:
  `{:ok, [%{call: call, successes: [reply], errors: [reason]}]}`.
  Option `:timeout` (per call, default 5000 ms).
  """
  @spec concurrent_calls(GenServer.server(), [term()], pos_integer(), keyword()) :: {:ok, [map()]}
  def concurrent_calls(server, calls, count \\ 10, opts \\ []) do
    Errors.translate(fn -> :supertester_genserver.concurrent_calls(server, calls, count, opts) end)
  end

  @doc """
  Runs `{:call, msg}` / `{:cast, msg}` operations at random from several
  workers for `duration` ms: `{:ok, %{calls, casts, errors, duration_ms, seed}}`.
  Options: `:workers` (5), `:seed`, `:call_timeout` (1000 ms).
  """
  @spec stress_test_server(GenServer.server(), [term()], non_neg_integer(), keyword()) ::
          {:ok, map()}
  def stress_test_server(server, operations, duration \\ 5000, opts \\ []) do
    Errors.translate(fn ->
      :supertester_genserver.stress_test_server(server, operations, duration, opts)
    end)
  end

  @doc """
  Crashes the server with `crash_reason` and reports whether it came back:
  `{:ok, %{recovered: boolean, original_pid, new_pid, crash_reason}}`.
  """
  @spec test_server_crash_recovery(GenServer.server(), term()) :: {:ok, map()} | {:error, term()}
  def test_server_crash_recovery(server, crash_reason) do
    Errors.translate(fn -> :supertester_genserver.test_server_crash_recovery(server, crash_reason) end)
  end

  @doc "Calls the server with each message: `{:ok, [{message, {:handled, reply} | {:error, reason}}]}`."
  @spec test_invalid_messages(GenServer.server(), [term()]) :: {:ok, [{term(), term()}]}
  def test_invalid_messages(server, invalid_messages) do
    Errors.translate(fn -> :supertester_genserver.test_invalid_messages(server, invalid_messages) end)
  end
end
