defmodule LetItCrash do
  @moduledoc """
  Crash recovery and supervision checks, with LetItCrash 0.6.0's API.

      use LetItCrash

      test "genserver recovers after crash" do
        original = Process.whereis(MyGenServer)
        LetItCrash.crash(MyGenServer)
        assert LetItCrash.recovered?(MyGenServer, original)
      end

  Recovery is seen from the supervisor's trace events, recorded by the C
  tracer: `recovered?/2` returns microseconds after the new process
  registers, where a polling check waits for its next interval. The
  `:interval` options are accepted for compatibility and unused. A failing
  check says what happened: `assert_supervision_impact/3` returns, per
  process, the status expected, the status seen and the pids before and
  after. Erlang tests use `:supertester_crash`.

  `LetItCrash.Async` (telemetry about async work) is not provided.
  """

  alias Supertester.Internal.Errors

  @doc "Imports the functions of this module."
  defmacro __using__(_opts) do
    quote do
      import LetItCrash,
        only: [
          crash: 1,
          crash: 2,
          recovered?: 1,
          recovered?: 2,
          recovered?: 3,
          wait_for_process: 1,
          wait_for_process: 2,
          wait_for_exit: 1,
          wait_for_exit: 2,
          test_restart: 2,
          test_restart: 3,
          assert_clean_registry: 2,
          assert_clean_registry: 3,
          verify_ets_cleanup: 2,
          verify_ets_cleanup: 3,
          assert_supervision_impact: 3
        ]
    end
  end

  @doc """
  Sends an exit signal to a pid or registered name: `:shutdown` (default,
  can be trapped) or `:kill`. Returns `:ok`, or `{:error, :not_found}` for a
  name nothing is registered under.
  """
  @spec crash(pid() | atom(), :shutdown | :kill) :: :ok | {:error, term()}
  def crash(process, type \\ :shutdown) do
    Errors.translate(fn -> :supertester_crash.crash(process, type) end)
  end

  @doc """
  Whether the process registered as `process_name` was restarted: within
  `:timeout` ms (default 1000), the name points to a live process other
  than the original. The original is the pid given, else the one last
  crashed under that name by this process, else the one registered when
  `start_tracking/0` ran, else the one registered now.
  """
  @spec recovered?(atom(), pid() | keyword()) :: boolean()
  def recovered?(process_name, original_pid_or_opts \\ []) do
    Errors.translate(fn -> :supertester_crash.recovered?(process_name, original_pid_or_opts) end)
  end

  @spec recovered?(atom(), pid(), keyword()) :: boolean()
  def recovered?(process_name, original_pid, opts) do
    Errors.translate(fn -> :supertester_crash.recovered?(process_name, original_pid, opts) end)
  end

  @doc "Waits for a registered process to exist and be alive: `:ok` or `{:error, :timeout}`."
  @spec wait_for_process(atom(), keyword()) :: :ok | {:error, :timeout}
  def wait_for_process(process_name, opts \\ []) do
    Errors.translate(fn -> :supertester_crash.wait_for_process(process_name, opts) end)
  end

  @doc "Waits on a monitor for a process to exit: `:ok` or `{:error, :timeout}`."
  @spec wait_for_exit(pid(), keyword()) :: :ok | {:error, :timeout}
  def wait_for_exit(pid, opts \\ []) do
    Errors.translate(fn -> :supertester_crash.wait_for_exit(pid, opts) end)
  end

  @doc """
  Runs `test_fn`, kills the process (with `:kill`, so a process trapping
  exits goes too), waits for its supervisor to restart it and runs
  `test_fn` again. `:ok` or `{:error, reason}`; what `test_fn` raises
  propagates.
  """
  @spec test_restart(pid() | atom(), function(), keyword()) :: :ok | {:error, term()}
  def test_restart(process, test_fn, opts \\ []) do
    Errors.translate(fn -> :supertester_crash.test_restart(process, test_fn, opts) end)
  end

  @doc """
  Checks the `Registry` entries of `key` after a crash: no entry points to
  a dead process, and an entry exists again, pointing to the process now
  registered under `key` when `key` is also a registered name. Returns
  `:ok` or `{:error, reason}` within `:timeout` ms (default 2000).
  """
  @spec assert_clean_registry(module(), term(), keyword()) :: :ok | {:error, term()}
  def assert_clean_registry(registry, key, opts \\ []) do
    timeout = Keyword.get(opts, :timeout, 2000)

    Errors.translate(fn ->
      deadline = :supertester_lib.deadline(:supertester_lib.check_timeout(:timeout, timeout))

      # The process re-registers as part of its restart: wait for that on
      # the supervisor's events first when the key is also its name.
      if is_atom(key) and :erlang.get({:supertester_crashed_name, key}) != :undefined do
        :supertester_crash.await_recovery(key, :erlang.get({:supertester_crashed_name, key}), deadline)
      end

      check = fn -> registry_state(registry, key) end

      case :supertester_lib.wait_until(fn -> {check.() == :ok, :ok} end, :supertester_lib.remaining(deadline)) do
        {:ok, :ok} -> :ok
        {:error, :timeout} -> check.()
      end
    end)
  end

  defp registry_state(registry, key) do
    entries = Registry.lookup(registry, key)
    stale = for {pid, _} <- entries, not Process.alive?(pid), do: pid
    crashed = if is_atom(key), do: :erlang.get({:supertester_crashed_name, key}), else: :undefined

    cond do
      stale != [] -> {:error, {:stale_entries, stale}}
      entries == [] -> {:error, :not_reregistered}
      Enum.any?(entries, fn {pid, _} -> pid == crashed end) -> {:error, {:old_pid, crashed}}
      is_atom(key) and is_pid(Process.whereis(key)) and not Enum.any?(entries, fn {pid, _} -> pid == Process.whereis(key) end) ->
        {:error, {:entry_not_for_new_pid, Process.whereis(key)}}
      true -> :ok
    end
  end

  @doc """
  Checks an ETS entry after a crash: by default that it is gone
  (`:expect_cleanup`, default `true`), and with `:expect_recreate` (default
  `false`) that it comes back. ETS announces nothing, so this checks with a
  short back-off within `:timeout` ms (default 1000). `:ok` or
  `{:error, reason}`.
  """
  @spec verify_ets_cleanup(atom() | :ets.tid(), term(), keyword()) :: :ok | {:error, term()}
  def verify_ets_cleanup(table, key, opts \\ []) do
    Errors.translate(fn -> :supertester_crash.verify_ets_cleanup(table, key, opts) end)
  end

  @doc """
  Crashes the child registered as `target` and checks that every process
  in `:expect` reaches its status: `:restarted` (alive, new pid), `:alive`
  (same pid) or `:stopped`, or `{status, fun}` to run `fun` once the status
  is confirmed. Options: `:expect` (required), `:signal` (`:shutdown`,
  default, or `:kill`), `:timeout` (default 2000), `:interval` (unused).

  Returns `:ok` or `{:error, {:unexpected_impact, report}}` where `report`
  maps each mismatched name to `%{expected:, seen:, before:, now:}`.
  """
  @spec assert_supervision_impact(pid() | atom(), atom(), keyword()) :: :ok | {:error, term()}
  def assert_supervision_impact(supervisor, target, opts) do
    case Errors.translate(fn -> :supertester_crash.assert_supervision_impact(supervisor, target, opts) end) do
      {:error, {:unexpected_impact, report}} -> {:error, {:unexpected_impact, elixir_report(report)}}
      other -> other
    end
  end

  # Erlang's `undefined' (no process) reads `nil' in Elixir.
  defp elixir_report(report) do
    Map.new(report, fn {name, seen} ->
      {name, Map.new(seen, fn {k, v} -> {k, if(v == :undefined, do: nil, else: v)} end)}
    end)
  end

  @doc """
  Remembers the pid of every registered process now, so that
  `recovered?/1` without a pid compares with it.
  """
  @spec start_tracking() :: :ok
  def start_tracking do
    :supertester_crash.start_tracking()
  end
end
