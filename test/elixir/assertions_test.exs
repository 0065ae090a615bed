defmodule Supertester.AssertionsTest.Counter do
  @moduledoc false
  # A real GenServer whose state is any term. It can be held inside a cast
  # (it then answers nothing until released) and can start a process of its
  # own on request.
  use GenServer

  def start_link(opts \\ []) do
    GenServer.start_link(__MODULE__, Keyword.get(opts, :state, 0), Keyword.take(opts, [:name]))
  end

  def start(opts \\ []) do
    GenServer.start(__MODULE__, Keyword.get(opts, :state, 0), Keyword.take(opts, [:name]))
  end

  @doc "Returns once the server waits inside handle_cast for `:release`."
  def hold(server) do
    GenServer.cast(server, {:hold, self()})

    receive do
      {:held, ^server} -> :ok
    end
  end

  @impl true
  def init(state), do: {:ok, state}

  @impl true
  def handle_call(:get, _from, state), do: {:reply, {:ok, state}, state}
  def handle_call({:set, value}, _from, _state), do: {:reply, :ok, value}

  @impl true
  def handle_cast(:stop, state), do: {:stop, :normal, state}

  def handle_cast({:hold, caller}, state) do
    send(caller, {:held, self()})

    receive do
      :release -> :ok
    end

    {:noreply, state}
  end
end

defmodule Supertester.AssertionsTest.TestableCounter do
  @moduledoc false
  use GenServer
  use Supertester.TestableGenServer

  def start_link(state), do: GenServer.start_link(__MODULE__, state)

  @impl true
  def init(state), do: {:ok, state}
end

defmodule Supertester.AssertionsTest.Sup do
  @moduledoc false
  use Supervisor

  def start_link({strategy, children}),
    do: Supervisor.start_link(__MODULE__, {strategy, children})

  @impl true
  def init({strategy, children}), do: Supervisor.init(children, strategy: strategy)
end

defmodule Supertester.AssertionsTest do
  use ExUnit.Case, async: true

  import Supertester.Assertions

  alias Supertester.AssertionsTest.{Counter, Sup, TestableCounter}

  defp unique_name(tag), do: :"#{inspect(__MODULE__)}.#{tag}#{System.unique_integer([:positive])}"

  defp dead_pid do
    {pid, ref} = spawn_monitor(fn -> :ok end)
    assert_receive {:DOWN, ^ref, :process, ^pid, _}
    pid
  end

  defp stop(pid) do
    ref = Process.monitor(pid)
    Process.exit(pid, :kill)
    assert_receive {:DOWN, ^ref, :process, ^pid, _}
  end

  defp pid_text(pid), do: pid |> :erlang.pid_to_list() |> to_string()

  defp counters(names),
    do: for(name <- names, do: Supervisor.child_spec({Counter, name: name}, id: name))

  defp start_sup(strategy, children \\ []) do
    start_supervised!(Supervisor.child_spec({Sup, {strategy, children}}, id: make_ref()))
  end

  describe "assert_process_alive/1 and assert_process_dead/1,2" do
    test "pass for a live and a dead process" do
      assert :ok == assert_process_alive(self())
      assert :ok == assert_process_dead(dead_pid())
    end

    test "a dead process fails assert_process_alive" do
      pid = dead_pid()
      error = assert_raise ExUnit.AssertionError, fn -> assert_process_alive(pid) end
      assert error.message =~ "Expected process #{pid_text(pid)} to be alive, but it is dead"
    end

    test "a live process fails assert_process_dead, with what it is" do
      pid = start_supervised!({Counter, name: unique_name("alive")})
      error = assert_raise ExUnit.AssertionError, fn -> assert_process_dead(pid) end
      assert error.message =~ "to be dead, but it is alive"
      assert error.message =~ "initial call Elixir.Supertester.AssertionsTest.Counter:init/1"
      assert error.message =~ "registered as"
    end

    test "a kill just before is seen; a stop by message is waited for with a timeout" do
      {:ok, pid} = Counter.start()
      Process.exit(pid, :kill)
      assert :ok == assert_process_dead(pid)

      {:ok, pid} = Counter.start()
      GenServer.cast(pid, :stop)
      assert :ok == assert_process_dead(pid, 1000)

      {:ok, pid} = Counter.start()

      error = assert_raise ExUnit.AssertionError, fn -> assert_process_dead(pid, 10) end

      assert error.message =~ "alive after 10 ms"
      stop(pid)
    end

    test "bad input raises ArgumentError" do
      assert_raise ArgumentError, "invalid pid: me; expected a pid", fn ->
        assert_process_alive(:me)
      end

      assert_raise ArgumentError, fn -> assert_process_dead("pid") end
      assert_raise ArgumentError, ~r/invalid timeout/, fn -> assert_process_dead(self(), -1) end
    end
  end

  describe "assert_process_restarted/2,3" do
    test "a supervised named GenServer killed right before passes" do
      name = unique_name("worker")
      start_sup(:one_for_one, counters([name]))
      original = Process.whereis(name)
      Process.exit(original, :kill)
      assert :ok == assert_process_restarted(name, original)
      assert Process.whereis(name) not in [nil, original]
    end

    test "the manual's example: GenServer.stop, then the assertion" do
      name = unique_name("stopped")
      start_sup(:one_for_one, counters([name]))
      original_pid = GenServer.whereis(name)
      GenServer.stop(name)
      assert :ok == assert_process_restarted(name, original_pid)
    end

    test "an unsupervised GenServer is not restarted" do
      name = unique_name("lonely")
      {:ok, pid} = Counter.start(name: name)
      GenServer.stop(pid)

      error =
        assert_raise ExUnit.AssertionError, fn -> assert_process_restarted(name, pid, 50) end

      assert error.message =~ "was not restarted within 50 ms"
      assert error.message =~ "nothing is registered as"
    end

    test "a process that did not die is still the same one" do
      name = unique_name("still")
      {:ok, pid} = Counter.start(name: name)

      error =
        assert_raise ExUnit.AssertionError, fn -> assert_process_restarted(name, pid, 20) end

      assert error.message =~ "the same process #{pid_text(pid)} is still registered"
      assert error.message =~ "and alive"
      stop(pid)
    end

    test "bad input raises ArgumentError" do
      assert_raise ArgumentError, ~r/give the name it is registered under/, fn ->
        assert_process_restarted(self(), self())
      end

      assert_raise ArgumentError, fn -> assert_process_restarted(:name, :not_a_pid) end
      assert_raise ArgumentError, fn -> assert_process_restarted(:name, self(), -1) end
    end
  end

  describe "assert_genserver_state/2" do
    setup do
      %{server: start_supervised!({Counter, state: %{count: 5, status: :active}})}
    end

    test "passes for the exact state or a function", %{server: server} do
      assert :ok == assert_genserver_state(server, %{count: 5, status: :active})

      assert :ok ==
               assert_genserver_state(server, fn s -> s.count > 0 and s.status == :active end)

      assert :ok == assert_genserver_state(server, fn s -> s.count end)
    end

    test "a scalar state, and every kind of server name" do
      {:ok, _} = start_supervised({Registry, keys: :unique, name: registry = unique_name("reg")})
      global = {:global, unique_name("global")}
      via = {:via, Registry, {registry, :counter}}
      local = unique_name("local")

      for name <- [local, global, via] do
        {:ok, pid} = Counter.start(name: name, state: 42)
        assert :ok == assert_genserver_state(name, 42)

        assert_raise ExUnit.AssertionError, ~r/Actual:   42/, fn ->
          assert_genserver_state(name, 43)
        end

        stop(pid)
      end
    end

    test "a different state fails showing both, and the keys that differ", %{server: server} do
      error =
        assert_raise ExUnit.AssertionError, fn ->
          assert_genserver_state(server, %{count: 6, status: :active})
        end

      assert error.message =~ "does not match"
      assert error.message =~ "Expected: #{"#"}{count => 6,status => active}"
      assert error.message =~ "Actual:   #{"#"}{count => 5,status => active}"
      assert error.message =~ "key count: expected 6, got 5"
    end

    test "a function returning false or nil fails showing the state", %{server: server} do
      for falsy <- [false, nil] do
        error =
          assert_raise ExUnit.AssertionError, fn ->
            assert_genserver_state(server, fn _ -> falsy end)
          end

        assert error.message =~
                 "does not satisfy the given function (it returned #{Atom.to_string(falsy)})"

        assert error.message =~ "State: #{"#"}{count => 5,status => active}"
      end
    end

    test "an assertion inside the function goes through", %{server: server} do
      assert_raise ExUnit.AssertionError, ~r/Assertion with == failed/, fn ->
        assert_genserver_state(server, fn s -> assert s.count == 7 end)
      end
    end

    test "a state that cannot be read says why" do
      pid = dead_pid()

      error = assert_raise ExUnit.AssertionError, fn -> assert_genserver_state(pid, 1) end
      assert error.message =~ "Could not read the state of GenServer #{pid_text(pid)}"
      assert error.message =~ "no process is running (noproc)"
    end

    test "bad input raises ArgumentError", %{server: server} do
      assert_raise ArgumentError, ~r/function of arity 1/, fn ->
        assert_genserver_state(server, fn _, _ -> true end)
      end

      assert_raise ArgumentError, ~r/invalid server/, fn -> assert_genserver_state("s", 1) end
    end
  end

  describe "assert_genserver_responsive/1" do
    test "passes for servers with and without the sync handler" do
      assert :ok == assert_genserver_responsive(start_supervised!(Counter))
      assert :ok == assert_genserver_responsive(start_supervised!({TestableCounter, 0}))
    end

    test "a server that does not answer fails without being crashed" do
      server = start_supervised!(Counter)
      Counter.hold(server)

      error = assert_raise ExUnit.AssertionError, fn -> assert_genserver_responsive(server) end
      assert error.message =~ "is not responsive: it did not answer within 1000 ms"

      send(server, :release)
      assert :ok == assert_genserver_responsive(server)
    end

    test "a dead server fails, bad input raises" do
      pid = dead_pid()

      assert_raise ExUnit.AssertionError, ~r/is not responsive: no process is running/, fn ->
        assert_genserver_responsive(pid)
      end

      assert_raise ArgumentError, fn -> assert_genserver_responsive(42) end
    end
  end

  describe "assert_genserver_handles_message/3" do
    test "passes when the reply is the expected one" do
      server = start_supervised!({Counter, state: 5})
      assert :ok == assert_genserver_handles_message(server, :get, {:ok, 5})
    end

    test "another reply fails showing both" do
      server = start_supervised!({Counter, state: 5})

      error =
        assert_raise ExUnit.AssertionError, fn ->
          assert_genserver_handles_message(server, :get, {:ok, 6})
        end

      assert error.message =~ "replied to get with an unexpected reply"
      assert error.message =~ "Expected: {ok,6}"
      assert error.message =~ "Actual:   {ok,5}"
    end

    test "no reply says why, bad input raises" do
      pid = dead_pid()

      assert_raise ExUnit.AssertionError, ~r/did not reply to get: no process is running/, fn ->
        assert_genserver_handles_message(pid, :get, {:ok, 5})
      end

      assert_raise ArgumentError, fn -> assert_genserver_handles_message({:bad}, :get, :ok) end
    end
  end

  describe "assert_supervisor_strategy/2" do
    for {strategy, wrong} <- [
          one_for_one: :one_for_all,
          one_for_all: :rest_for_one,
          rest_for_one: :one_for_one
        ] do
      test "a #{strategy} supervisor passes for #{strategy} and fails for #{wrong}" do
        sup = start_sup(unquote(strategy), counters([unique_name("w")]))
        assert :ok == assert_supervisor_strategy(sup, unquote(strategy))

        error =
          assert_raise ExUnit.AssertionError, fn ->
            assert_supervisor_strategy(sup, unquote(wrong))
          end

        assert error.message =~
                 "expected #{unquote(wrong)}, supervisor uses #{unquote(strategy)}"
      end
    end

    test "a DynamicSupervisor, by name" do
      name = unique_name("dyn")
      start_supervised!({DynamicSupervisor, strategy: :one_for_one, name: name})
      assert :ok == assert_supervisor_strategy(name, :one_for_one)

      assert_raise ExUnit.AssertionError,
                   ~r/expected one_for_all, supervisor uses one_for_one/,
                   fn ->
                     assert_supervisor_strategy(name, :one_for_all)
                   end
    end

    test "a GenServer or a dead supervisor fails, saying so" do
      server = start_supervised!(Counter)

      assert_raise ExUnit.AssertionError,
                   ~r/is not a supervisor: initial call .*Counter:init\/1/,
                   fn ->
                     assert_supervisor_strategy(server, :one_for_one)
                   end

      assert_raise ExUnit.AssertionError, ~r/is not running/, fn ->
        assert_supervisor_strategy(dead_pid(), :one_for_one)
      end

      assert_raise ExUnit.AssertionError, ~r/nothing is registered/, fn ->
        assert_supervisor_strategy(unique_name("nobody"), :one_for_one)
      end
    end

    test "an unknown strategy raises ArgumentError" do
      assert_raise ArgumentError, ~r/invalid expected_strategy: one_for_some/, fn ->
        assert_supervisor_strategy(start_sup(:one_for_one), :one_for_some)
      end
    end
  end

  describe "assert_child_count/2" do
    test "counts the active children" do
      sup = start_sup(:one_for_one, counters([:a, :b, :c] |> Enum.map(&unique_name/1)))
      assert :ok == assert_child_count(sup, 3)

      dyn = start_supervised!(DynamicSupervisor)
      assert :ok == assert_child_count(dyn, 0)
      {:ok, _} = DynamicSupervisor.start_child(dyn, Counter)
      assert :ok == assert_child_count(dyn, 1)
    end

    test "another count fails showing every count" do
      [_a, b] = names = Enum.map([:a, :b], &unique_name/1)
      sup = start_sup(:one_for_one, counters(names))
      :ok = Supervisor.terminate_child(sup, b)

      error = assert_raise ExUnit.AssertionError, fn -> assert_child_count(sup, 2) end
      assert error.message =~ "has 1 active children, expected 2"
      assert error.message =~ "(specs: 2, active: 1, workers: 2, supervisors: 0)"
    end

    test "bad input raises ArgumentError" do
      sup = start_sup(:one_for_one)

      assert_raise ArgumentError, ~r/invalid expected_count/, fn ->
        assert_child_count(sup, -1)
      end

      assert_raise ArgumentError, fn -> assert_child_count(sup, "3") end
    end
  end

  describe "assert_all_children_alive/1" do
    test "passes when every child runs" do
      sup = start_sup(:one_for_all, counters(Enum.map([:a, :b], &unique_name/1)))
      assert :ok == assert_all_children_alive(sup)
      assert :ok == assert_all_children_alive(start_sup(:rest_for_one))

      dyn = start_supervised!(DynamicSupervisor)
      {:ok, _} = DynamicSupervisor.start_child(dyn, Counter)
      assert :ok == assert_all_children_alive(dyn)
    end

    test "a child that is not running fails, listed with its id" do
      [a, b, c] = names = Enum.map([:a, :b, :c], &unique_name/1)
      sup = start_sup(:one_for_one, counters(names))
      :ok = Supervisor.terminate_child(sup, b)

      error = assert_raise ExUnit.AssertionError, fn -> assert_all_children_alive(sup) end
      assert error.message =~ "1 of the 3 children of supervisor"
      assert error.message =~ "is not alive:"
      assert error.message =~ "child '#{b}': not running (undefined)"
      refute error.message =~ "#{a}"
      refute error.message =~ "#{c}"
    end
  end

  describe "assert_no_process_leaks/1,2" do
    test "starting and stopping a GenServer, or awaiting a task, leaks nothing" do
      assert :ok ==
               assert_no_process_leaks(fn ->
                 {:ok, server} = GenServer.start_link(Counter, [])
                 GenServer.stop(server)
               end)

      assert :ok ==
               assert_no_process_leaks(fn ->
                 1..10 |> Enum.map(fn i -> Task.async(fn -> i * 2 end) end) |> Task.await_many()
               end)

      # Still running (or exiting) when the operation returns: waited for.
      assert :ok ==
               assert_no_process_leaks(fn ->
                 for _ <- 1..20, do: spawn(fn -> Enum.sum(1..1000) end)
               end)
    end

    test "a GenServer left running fails and is named" do
      name = unique_name("leaked")
      test_pid = self()

      error =
        assert_raise ExUnit.AssertionError, fn ->
          assert_no_process_leaks(fn ->
            {:ok, pid} = Counter.start(name: name)
            send(test_pid, {:leaked, pid})
          end)
        end

      assert_received {:leaked, pid}

      assert error.message =~
               "Process leak: 1 process started during the operation is still alive"

      assert error.message =~
               "#{pid_text(pid)}: initial call Elixir.Supertester.AssertionsTest.Counter:init/1, " <>
                 "registered as '#{name}', waiting in gen_server:loop/7"

      stop(pid)
    end

    test "a process started by a task that has exited is still counted" do
      test_pid = self()

      error =
        assert_raise ExUnit.AssertionError, fn ->
          assert_no_process_leaks(fn ->
            {:ok, task} =
              Task.start(fn -> send(test_pid, {:leaked, elem(Counter.start(), 1)}) end)

            ref = Process.monitor(task)
            assert_receive {:DOWN, ^ref, :process, ^task, _}
          end)
        end

      assert_received {:leaked, pid}
      assert error.message =~ pid_text(pid)
      stop(pid)
    end

    test "a process spawned meanwhile by an unrelated process does not count by default" do
      # `unrelated` existed before the operation: what it starts, directly or
      # through a helper of its own, is not the operation's doing.
      test_pid = self()

      unrelated =
        spawn(fn ->
          receive do
            :go ->
              spawn(fn -> send(test_pid, {:spawned, elem(Counter.start(), 1)}) end)
          end
        end)

      assert :ok ==
               assert_no_process_leaks(fn ->
                 send(unrelated, :go)
                 assert_receive {:spawned, pid}
                 send(test_pid, {:check, pid})
               end)

      assert_received {:check, pid}
      assert Process.alive?(pid)
      stop(pid)
    end

    test "a task of an older Task.Supervisor counts; a child of an older DynamicSupervisor does not" do
      tasks = start_supervised!(Task.Supervisor)
      dyn = start_supervised!(DynamicSupervisor)

      error =
        assert_raise ExUnit.AssertionError, fn ->
          assert_no_process_leaks(fn ->
            {:ok, task} =
              Task.Supervisor.start_child(tasks, fn -> receive(do: (:stop -> :ok)) end)

            send(self(), {:task, task})
          end)
        end

      assert_received {:task, task}
      assert error.message =~ pid_text(task)

      # The documented price of the default scope: scope: :all sees it.
      op = fn -> {:ok, _} = DynamicSupervisor.start_child(dyn, Counter) end
      assert :ok == assert_no_process_leaks(op)

      assert_raise ExUnit.AssertionError, ~r/Counter:init/, fn ->
        assert_no_process_leaks(op, scope: :all)
      end
    end

    test "with scope: :all every new process counts" do
      test_pid = self()

      unrelated =
        spawn(fn ->
          receive do
            :go -> send(test_pid, {:spawned, elem(Counter.start(), 1)})
          end
        end)

      error =
        assert_raise ExUnit.AssertionError, fn ->
          assert_no_process_leaks(
            fn ->
              send(unrelated, :go)
              assert_receive {:spawned, pid}
              send(test_pid, {:check, pid})
            end,
            scope: :all
          )
        end

      assert_received {:check, pid}
      assert error.message =~ pid_text(pid)
      assert error.message =~ "every process started meanwhile (scope all)"
      stop(pid)
    end

    test "errors of the operation go through; bad input raises ArgumentError" do
      assert_raise RuntimeError, "boom", fn -> assert_no_process_leaks(fn -> raise "boom" end) end
      assert_raise ArgumentError, fn -> assert_no_process_leaks(:not_a_fun) end

      assert_raise ArgumentError, ~r/invalid scope: mine/, fn ->
        assert_no_process_leaks(fn -> :ok end, scope: :mine)
      end

      assert_raise ArgumentError, ~r/invalid timeout/, fn ->
        assert_no_process_leaks(fn -> :ok end, timeout: :forever)
      end

      assert_raise ArgumentError,
                   ~r/option for assert_no_process_leaks: wait; expected one of: scope, timeout/,
                   fn ->
                     assert_no_process_leaks(fn -> :ok end, wait: 1)
                   end
    end
  end

  describe "assert_performance_within_bounds/2" do
    @measurement %{time_us: 2500, memory_bytes: 1000, reductions: 50, result: :ok}

    test "passes within bounds, with 0.5.1's and assert_performance's names" do
      assert :ok ==
               assert_performance_within_bounds(@measurement, %{max_time: 3, max_memory: 1000})

      assert :ok ==
               assert_performance_within_bounds(@measurement, max_time_ms: 3, max_reductions: 50)

      measurement = Supertester.PerformanceHelpers.measure_operation(fn -> :done end)
      assert :ok == assert_performance_within_bounds(measurement, %{max_time: 1000})
    end

    test "fails listing every exceeded bound" do
      error =
        assert_raise ExUnit.AssertionError, fn ->
          assert_performance_within_bounds(@measurement, %{
            max_time: 2,
            max_memory: 10,
            max_reductions: 100
          })
        end

      assert error.message =~ "time 2.5 ms exceeds max_time_ms = 2"
      assert error.message =~ "memory 1000 bytes exceeds max_memory_bytes = 10"
      refute error.message =~ "reductions 50 exceeds"
      assert error.message =~ "max_time is read as max_time_ms"
    end

    test "unknown or doubled bounds and bad results raise ArgumentError" do
      assert_raise ArgumentError, ~r/max_latency/, fn ->
        assert_performance_within_bounds(@measurement, max_latency: 1)
      end

      assert_raise ArgumentError, ~r/not both/, fn ->
        assert_performance_within_bounds(@measurement, max_time: 1, max_time_ms: 1)
      end

      assert_raise ArgumentError, fn -> assert_performance_within_bounds(:result, %{}) end
      assert_raise ArgumentError, fn -> assert_performance_within_bounds(%{}, max_time: 1) end
    end
  end

  test "a failure points at the test, not at the toolkit" do
    {error, stacktrace} =
      try do
        assert_process_alive(dead_pid())
      rescue
        e in ExUnit.AssertionError -> {e, __STACKTRACE__}
      end

    assert %ExUnit.AssertionError{} = error
    modules = Enum.map(stacktrace, &elem(&1, 0))
    refute Enum.any?(modules, &(Atom.to_string(&1) =~ ~r/^supertester_/))
    assert __MODULE__ in modules
  end
end

defmodule Supertester.AssertionsVMWideTest do
  # Synchronous on purpose: these measure the whole VM (its total memory,
  # every process), so concurrent tests would disturb them.
  use ExUnit.Case, async: false

  import Supertester.Assertions

  alias Supertester.AssertionsTest.Counter

  describe "assert_memory_usage_stable/1,2" do
    test "passes for an operation that keeps nothing" do
      assert :ok == assert_memory_usage_stable(fn -> Enum.sum(1..10_000) end)
      assert :ok == assert_memory_usage_stable(fn -> Enum.to_list(1..10_000) end, 0.05)
    end

    test "fails when the operation keeps a lot, with the numbers" do
      {:ok, keeper} = Agent.start_link(fn -> nil end)
      size = div(:erlang.memory(:total), 2)

      error =
        assert_raise ExUnit.AssertionError, fn ->
          assert_memory_usage_stable(fn ->
            Agent.update(keeper, fn _ -> :binary.copy(<<1>>, size) end)
          end)
        end

      assert error.message =~ "Memory usage not stable: the VM's total memory went from "
      assert error.message =~ ~r/: \+[\d.]+ MB \(\d+ bytes\), \+[\d.]+%, /
      assert error.message =~ "beyond the tolerance of 10% (0.1)"

      # Freeing it is a change too (0.5.1 compared the absolute change).
      assert_raise ExUnit.AssertionError, ~r/: -[\d.]+ MB/, fn ->
        assert_memory_usage_stable(fn -> Agent.stop(keeper) end, 0.2)
      end
    end

    test "a tolerance that is not a non-negative number raises ArgumentError" do
      assert_raise ArgumentError, ~r/invalid tolerance/, fn ->
        assert_memory_usage_stable(fn -> :ok end, -0.1)
      end

      assert_raise ArgumentError, fn -> assert_memory_usage_stable(fn -> :ok end, "10%") end
    end
  end

  describe "assert_no_process_leaks/2 with scope: :all" do
    test "passes when the operation cleans up after itself" do
      assert :ok ==
               assert_no_process_leaks(
                 fn ->
                   {:ok, server} = Counter.start_link()
                   GenServer.stop(server)
                 end,
                 scope: :all
               )
    end
  end
end
