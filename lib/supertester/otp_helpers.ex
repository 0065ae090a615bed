defmodule Supertester.OTPHelpers do
  @moduledoc """
  OTP-compliant testing utilities for GenServer, Supervisor, and process
  management, without sleeping.

      import Supertester.OTPHelpers

      test "my genserver test" do
        {:ok, server} = setup_isolated_genserver(MyGenServer, "test_context")
        :ok = wait_for_genserver_sync(server)
      end

  Servers and supervisors started here get a unique name (`MyGenServer#0`,
  `MyGenServer#1`...: the number is a slot reused as soon as its holder is
  dead, so the atoms made stay bounded; after stopping a server, refer to it
  by pid, as its name may already belong to another test's server), are
  not linked to the test process (a
  test may crash them; a supervisor started in `setup` survives it), and are
  stopped, newest first, when the test ends: through the
  `Supertester.ExUnitFoundation` context when there is one, else through
  `ExUnit.Callbacks.on_exit/1` (see `Supertester.Env`).

  Every wait is a monitor, a reply or a bounded `receive ... after`; the
  Erlang module `:supertester_otp` documents each and offers the same
  functions to EUnit and Common Test.
  """

  alias Supertester.Internal.{Context, Errors}

  @doc """
  Starts a GenServer with a unique name and automatic cleanup.

  ## Options

    * `:init_args` - the argument of `init/1` (default `[]`)
    * `:name` - register under this name instead (`nil` for no name)
    * `:timeout` - how long `init/1` may take, in ms (default 5000)
    * `:debug`, `:spawn_opt`, `:hibernate_after` - passed to the start

  Any other option raises `ArgumentError` (0.5.1 silently dropped them).

      {:ok, server} = setup_isolated_genserver(MyServer, "my_test", init_args: [config: :test])
  """
  @spec setup_isolated_genserver(module(), String.t(), keyword()) :: {:ok, pid()} | {:error, term()}
  def setup_isolated_genserver(module, test_name \\ "", opts \\ []) do
    start(:setup_isolated_genserver, module, test_name, opts)
  end

  @doc """
  Starts a Supervisor with a unique name and automatic cleanup, with the
  options of `setup_isolated_genserver/3` (`:init_args` is the argument of
  the supervisor module's `init/1`).

      {:ok, supervisor} = setup_isolated_supervisor(MySupervisor, "my_test")
  """
  @spec setup_isolated_supervisor(module(), String.t(), keyword()) :: {:ok, pid()} | {:error, term()}
  def setup_isolated_supervisor(module, test_name \\ "", opts \\ []) do
    start(:setup_isolated_supervisor, module, test_name, opts)
  end

  defp start(function, module, test_name, opts) do
    Context.ensure()

    case Errors.translate(fn -> apply(:supertester_otp, function, [module, test_name, opts]) end) do
      {:ok, pid} = ok ->
        Context.note_process(pid, module)
        ok

      error ->
        error
    end
  end

  @doc """
  Waits until the server has handled everything sent to it so far:
  `:ok` or `{:error, reason}`. A server without the sync handler of
  `Supertester.TestableGenServer` is synchronised through `:sys.get_state`
  instead of being crashed by an unknown call.
  """
  @spec wait_for_genserver_sync(GenServer.server(), timeout()) :: :ok | {:error, term()}
  def wait_for_genserver_sync(server, timeout \\ 1000) do
    Errors.translate(fn -> :supertester_otp.wait_for_genserver_sync(server, timeout) end)
  end

  @doc """
  Waits for the process registered as `process_name` to be replaced by a
  new, responsive one: `{:ok, new_pid}` or `{:error, :timeout}`. The death
  of `original_pid` is awaited through a monitor.

      original_pid = Process.whereis(MyServer)
      GenServer.stop(MyServer)
      {:ok, new_pid} = wait_for_process_restart(MyServer, original_pid)
  """
  @spec wait_for_process_restart(GenServer.name(), pid(), timeout()) :: {:ok, pid()} | {:error, term()}
  def wait_for_process_restart(process_name, original_pid, timeout \\ 1000) do
    Errors.translate(fn ->
      :supertester_otp.wait_for_process_restart(process_name, original_pid, timeout)
    end)
  end

  @doc "Waits until every child of the supervisor is running: `{:ok, pid}` or `{:error, :timeout}`."
  @spec wait_for_supervisor_restart(Supervisor.supervisor(), timeout()) :: {:ok, pid()} | {:error, term()}
  def wait_for_supervisor_restart(supervisor, timeout \\ 1000) do
    Errors.translate(fn -> :supertester_otp.wait_for_supervisor_restart(supervisor, timeout) end)
  end

  @doc "Waits for a process to terminate: `{:ok, reason}` or `{:error, :timeout}`."
  @spec wait_for_process_death(pid(), timeout()) :: {:ok, term()} | {:error, :timeout}
  def wait_for_process_death(pid, timeout \\ 1000) do
    Errors.translate(fn -> :supertester_otp.wait_for_process_death(pid, timeout) end)
  end

  @doc "Monitors a process: `{monitor_ref, pid}`."
  @spec monitor_process_lifecycle(pid()) :: {reference(), pid()}
  def monitor_process_lifecycle(pid) do
    Errors.translate(fn -> :supertester_otp.monitor_process_lifecycle(pid) end)
  end

  @doc "Stops each process and returns once all are dead."
  @spec cleanup_processes([pid()]) :: :ok
  def cleanup_processes(pids) do
    Errors.translate(fn -> :supertester_otp.cleanup_processes(pids) end)
  end

  @doc """
  Registers a cleanup function to run when the test ends, in LIFO order
  with the rest of the test's cleanup.
  """
  @spec cleanup_on_exit((-> any())) :: :ok
  def cleanup_on_exit(cleanup_fun) do
    Context.ensure()
    Errors.translate(fn -> :supertester_otp.cleanup_on_exit(cleanup_fun) end)
  end
end
