defmodule Supertester.Assertions do
  @moduledoc """
  Custom assertions for OTP patterns and system behavior.

  This module provides specialized assertions that understand OTP patterns,
  making tests more expressive and providing better error messages. The
  functions and arities are those of Supertester 0.5.1; each returns `:ok`.

  A failed assertion raises `ExUnit.AssertionError` whose message says what
  was expected and what was found (the state, the reply, the strategy, each
  leaked process...). A bad argument raises `ArgumentError` before anything
  runs. Servers and supervisors may be given as a pid, a registered name,
  `{:global, name}` or `{:via, module, name}`.

  ## Usage

      import Supertester.Assertions

      test "my test" do
        assert_process_alive(server_pid)
        assert_genserver_responsive(server_pid)
      end

  ## Where it is stricter than 0.5.1

    * `assert_supervisor_strategy/2` reads the restart strategy from the
      running supervisor and compares it. 0.5.1 only checked that the
      supervisor answered, whatever the strategy.
    * `assert_process_restarted/3` waits (1000 ms by default) for the
      original process to die, through a monitor, then for a new process
      registered under the name that answers a sync. 0.5.1 looked once, so
      it failed when called right after `GenServer.stop/1` or a kill.
    * `assert_no_process_leaks/2` sees leaked GenServers (0.5.1 ignored every
      process started through `:proc_lib`), does not sleep, names each leaked
      process, and by default only counts the caller's own processes, so it
      is safe in `async: true` tests.
    * `assert_performance_within_bounds/2` checks measurements such as
      `Supertester.PerformanceHelpers.measure_operation/1` returns against
      bounds (0.5.1 compared keys the measurement did not have), and refuses
      unknown bounds.
    * `assert_memory_usage_stable/2` also garbage-collects the caller before
      the first reading, and puts both readings, the change and the
      tolerance in its message.
    * Supervisors are checked to be supervisors before they are asked
      anything, and every request to them is bounded (5 s): a GenServer
      passed by mistake is not sent `which_children`, and a stuck supervisor
      fails the test instead of hanging it.

  The Erlang module `:supertester_assertions` holds the logic; EUnit and
  Common Test suites can call it directly.
  """

  alias Supertester.Internal.Errors

  @typedoc "Bounds for `assert_performance_within_bounds/2`."
  @type expectations ::
          %{optional(atom()) => number()}
          | [
              max_time: number(),
              max_time_ms: number(),
              max_memory: number(),
              max_memory_bytes: number(),
              max_reductions: number()
            ]

  @doc """
  Asserts that a process is alive.

  ## Parameters

    * `pid` - The process ID to check (a process on the local node)

  ## Example

      assert_process_alive(server_pid)
  """
  @spec assert_process_alive(pid()) :: :ok
  def assert_process_alive(pid) do
    Errors.translate(fn -> :supertester_assertions.assert_process_alive(pid) end)
  end

  @doc """
  Asserts that a process is dead.

  With no timeout the check is made at once, as in 0.5.1. A signal the test
  sent before (`Process.exit(pid, :kill)`) or a synchronous stop
  (`GenServer.stop/1`) has taken effect by then. For a process asked to stop
  by a message, give a `timeout` in ms: the assertion then waits, through a
  monitor, for the process to die (an extension of 0.5.1).

  The failure message tells what the live process is (initial call, name,
  what it is doing).

  ## Parameters

    * `pid` - The process ID to check
    * `timeout` - How long to wait for it to die, in ms (default: `0`)

  ## Examples

      assert_process_dead(old_pid)

      send(worker, :shutdown)
      assert_process_dead(worker, 1000)
  """
  @spec assert_process_dead(pid(), timeout()) :: :ok
  def assert_process_dead(pid, timeout \\ 0)

  def assert_process_dead(pid, 0) do
    Errors.translate(fn -> :supertester_assertions.assert_process_dead(pid) end)
  end

  def assert_process_dead(pid, timeout) do
    Errors.translate(fn -> :supertester_assertions.assert_process_dead(pid, timeout) end)
  end

  @doc """
  Asserts that a process has been restarted.

  Waits up to `timeout` ms (default: 1000) for `original_pid` to die,
  through a monitor, then for a new process registered as `process_name`
  that answers a sync, so it can be called right after the process was
  stopped or killed, with no sleep. 0.5.1 looked only once.

  The failure says whether nothing is registered under the name, the
  original process is still there (and whether it is alive), or a new
  process did not answer. A replacement that is not an OTP process (which
  cannot answer the sync) is accepted once the time is up.

  ## Parameters

    * `process_name` - The registered name of the process (an atom,
      `{:global, name}` or `{:via, module, name}`)
    * `original_pid` - The original PID before restart
    * `timeout` - How long to wait, in ms (default: 1000); an extension of
      0.5.1

  ## Example

      original_pid = GenServer.whereis(MyServer)
      GenServer.stop(MyServer)
      assert_process_restarted(MyServer, original_pid)
  """
  @spec assert_process_restarted(
          atom() | {:global, term()} | {:via, module(), term()},
          pid(),
          timeout()
        ) :: :ok
  def assert_process_restarted(process_name, original_pid, timeout \\ 1000) do
    Errors.translate(fn ->
      :supertester_assertions.assert_process_restarted(process_name, original_pid, timeout)
    end)
  end

  @doc """
  Asserts that a GenServer has the expected state.

  The state is read with `:sys.get_state/2` (5 s). `expected_state` is
  either the exact state, compared with `==` (any term, scalars included),
  or a function of arity 1 that must return a truthy value (anything but
  `false` or `nil`) for the state. A function of another arity raises
  `ArgumentError`.

  The failure shows the actual state, the expected one for an exact match,
  and for two maps the keys that differ. When the state cannot be read
  (the server is dead, or does not answer), the message says why. An error
  raised by the function itself (an `assert` inside it, a failed match) goes
  through unchanged.

  ## Parameters

    * `server` - The GenServer pid or name
    * `expected_state` - The expected state or a function to test the state

  ## Examples

      # Exact match
      assert_genserver_state(server, %{counter: 5})

      # Function validation
      assert_genserver_state(server, fn state ->
        state.counter > 0 and state.status == :active
      end)
  """
  @spec assert_genserver_state(GenServer.server(), term() | (term() -> as_boolean(term()))) ::
          :ok
  def assert_genserver_state(server, expected_state) do
    Errors.translate(fn ->
      :supertester_assertions.assert_genserver_state(server, expected_state)
    end)
  end

  @doc """
  Asserts that a GenServer is responsive.

  The server must answer within 1000 ms. It is asked through its
  `:__supertester_sync__` handler when it has one (see
  `Supertester.TestableGenServer`), through `:sys.get_state/2` otherwise,
  so a server without the handler is not crashed by the question.

  ## Parameters

    * `server` - The GenServer pid or name

  ## Example

      assert_genserver_responsive(server)
  """
  @spec assert_genserver_responsive(GenServer.server()) :: :ok
  def assert_genserver_responsive(server) do
    Errors.translate(fn -> :supertester_assertions.assert_genserver_responsive(server) end)
  end

  @doc """
  Asserts that a GenServer handles a message correctly.

  Calls the server with `message` (1000 ms) and compares the reply with
  `expected_response` (`==`). The failure shows both, or why no reply came
  (no process, timeout, the call crashed the server).

  ## Parameters

    * `server` - The GenServer pid or name
    * `message` - The message to send
    * `expected_response` - The expected response

  ## Example

      assert_genserver_handles_message(server, :get_counter, {:ok, 5})
  """
  @spec assert_genserver_handles_message(GenServer.server(), term(), term()) :: :ok
  def assert_genserver_handles_message(server, message, expected_response) do
    Errors.translate(fn ->
      :supertester_assertions.assert_genserver_handles_message(
        server,
        message,
        expected_response
      )
    end)
  end

  @doc """
  Asserts that a supervisor uses the expected restart strategy.

  The strategy is read from the running supervisor and compared with
  `expected_strategy` (`:one_for_one`, `:one_for_all`, `:rest_for_one` or
  `:simple_one_for_one`); a `DynamicSupervisor`'s is `:one_for_one`. 0.5.1
  only checked that the supervisor answered. The failure names both
  strategies; a process that is not a supervisor, or is not running, fails
  with a message that says so.

  ## Parameters

    * `supervisor` - The supervisor pid or name
    * `expected_strategy` - The restart strategy it must have

  ## Example

      assert_supervisor_strategy(supervisor, :one_for_one)
  """
  @spec assert_supervisor_strategy(Supervisor.supervisor(), atom()) :: :ok
  def assert_supervisor_strategy(supervisor, expected_strategy) do
    Errors.translate(fn ->
      :supertester_assertions.assert_supervisor_strategy(supervisor, expected_strategy)
    end)
  end

  @doc """
  Asserts that a supervisor has the expected number of children.

  Compares the `:active` count of `Supervisor.count_children/1` (children
  whose process is running), as 0.5.1 did. The failure shows every count:
  specs, active, workers and supervisors.

  ## Parameters

    * `supervisor` - The supervisor pid or name
    * `expected_count` - The expected number of children

  ## Example

      assert_child_count(supervisor, 3)
  """
  @spec assert_child_count(Supervisor.supervisor(), non_neg_integer()) :: :ok
  def assert_child_count(supervisor, expected_count) do
    Errors.translate(fn ->
      :supertester_assertions.assert_child_count(supervisor, expected_count)
    end)
  end

  @doc """
  Asserts that all children of a supervisor are alive.

  A child whose process is `:undefined` (not running), `:restarting` or
  dead fails the assertion; the message lists each one with its id. A
  supervisor without children passes.

  ## Parameters

    * `supervisor` - The supervisor pid or name

  ## Example

      assert_all_children_alive(supervisor)
  """
  @spec assert_all_children_alive(Supervisor.supervisor()) :: :ok
  def assert_all_children_alive(supervisor) do
    Errors.translate(fn -> :supertester_assertions.assert_all_children_alive(supervisor) end)
  end

  @doc """
  Asserts that no processes are leaked during an operation.

  Every process is recorded before the operation (a sorted set in the C
  core); the processes that appeared since and are still alive when it
  returns are leaks. One still running at that moment (a task that has just
  replied, a server in its `terminate/2`) is waited for through a monitor,
  up to `:timeout` ms; one waiting in a `receive` with nothing to do is a
  leak at once. Each leak is reported with its pid, initial call,
  registered name and what it is doing. Leaked processes are left running.
  A process the operation starts with `start_supervised/2` is still running
  when it returns, so it counts (ExUnit stops it only when the test ends).

  ## Options

    * `:scope` - which new processes count:
      * `:caller` (default) - only those descending from the calling
        process: their parent, or when it has exited their first live
        ancestor (`:"$ancestors"`), or for tasks their first live caller
        (`:"$callers"`), is the caller or another new process that counts.
        Processes that other tests or the system start meanwhile are left
        out, so this is safe with `async: true`. The price: a process
        started on the test's behalf by a process that existed before is
        not counted (a child added to a long-lived `DynamicSupervisor`;
        a task of a long-lived `Task.Supervisor` does count, through
        `:"$callers"`), nor a plain `spawn` whose spawner has already
        exited.
      * `:all` - every new process, whoever started it, as 0.5.1 meant to.
        Complete, but anything running concurrently counts too: use it in
        an `async: false` module.
    * `:timeout` - how long to wait for processes still running when the
      operation returns, in ms (default: 1000)

  ## Parameters

    * `operation_fun` - Function to execute (its result is ignored)

  ## Example

      assert_no_process_leaks(fn ->
        {:ok, server} = GenServer.start_link(MyServer, [])
        GenServer.stop(server)
      end)
  """
  @spec assert_no_process_leaks((() -> any()), keyword()) :: :ok
  def assert_no_process_leaks(operation_fun, opts \\ []) do
    Errors.translate(fn ->
      :supertester_assertions.assert_no_process_leaks(operation_fun, opts)
    end)
  end

  @doc """
  Asserts that memory usage remains stable during an operation.

  Reads the VM's total memory (`:erlang.memory(:total)`) before and after
  the operation, garbage-collecting the calling process before each reading,
  and fails when it changed, up or down, by more than `tolerance` of the
  first reading. The message gives both readings, the change in bytes and
  percent, and the tolerance.

  The whole VM is measured, so memory that concurrent tests allocate or free
  counts too: put this assertion in a test module with `async: false`. For
  growth over many iterations,
  `Supertester.PerformanceHelpers.assert_no_memory_leak/3` is more robust.

  ## Parameters

    * `operation_fun` - Function to execute
    * `tolerance` - Memory tolerance as a fraction of the memory before
      (default: 0.1, that is 10%); a non-negative number

  ## Example

      assert_memory_usage_stable(fn ->
        Enum.each(1..1000, fn _ -> GenServer.call(server, :increment) end)
      end, 0.05)
  """
  @spec assert_memory_usage_stable((() -> any()), number()) :: :ok
  def assert_memory_usage_stable(operation_fun, tolerance \\ 0.1) do
    Errors.translate(fn ->
      :supertester_assertions.assert_memory_usage_stable(operation_fun, tolerance)
    end)
  end

  @doc """
  Asserts that performance is within expected bounds.

  `benchmark_result` is a measurement map with `:time_us`, `:memory_bytes`
  and `:reductions`, as `Supertester.PerformanceHelpers.measure_operation/1`
  returns (an entry of `compare_performance/2`'s result works too: its
  `:time_us` is the median). `expectations`, a map or a keyword list:

    * `:max_time` or `:max_time_ms` - most milliseconds `:time_us` may be
    * `:max_memory` or `:max_memory_bytes` - most bytes for `:memory_bytes`
    * `:max_reductions` - most reductions

  The short names are those of 0.5.1's example, the long ones those of
  `Supertester.PerformanceHelpers.assert_performance/2`. Any other key, or
  both names for one bound, raises `ArgumentError`. Every exceeded bound is
  listed in the failure, with the measurement.

  ## Parameters

    * `benchmark_result` - Result from performance testing
    * `expectations` - Map of performance expectations

  ## Example

      result = measure_operation(fn -> MyServer.lookup(server, 1) end)
      expectations = %{max_time: 1000, max_memory: 1_000_000}
      assert_performance_within_bounds(result, expectations)
  """
  @spec assert_performance_within_bounds(map(), expectations()) :: :ok
  def assert_performance_within_bounds(benchmark_result, expectations) do
    Errors.translate(fn ->
      :supertester_assertions.assert_performance_within_bounds(benchmark_result, expectations)
    end)
  end
end
