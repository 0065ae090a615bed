defmodule Supertester.OTPHelpersTest do
  use Supertester.ExUnitFoundation, isolation: :full_isolation

  import Supertester.OTPHelpers

  alias Supertester.Test.{Counter, Tree}

  describe "setup_isolated_genserver/3" do
    test "passes init args and registers a pooled name" do
      {:ok, pid} = setup_isolated_genserver(Counter, "init args", init_args: [start: 41])
      assert GenServer.call(pid, :init_arg) == [start: 41]
      assert GenServer.call(pid, :get) == 41
      {:registered_name, name} = Process.info(pid, :registered_name)
      assert Atom.to_string(name) =~ "Supertester.Test.Counter#"
    end

    test "with no options init gets [] (as in 0.5.1)" do
      {:ok, pid} = setup_isolated_genserver(Counter)
      assert GenServer.call(pid, :init_arg) == []
    end

    test "named by the caller, or unnamed" do
      name = :"otp_helpers_named_#{System.unique_integer([:positive])}"
      {:ok, named} = setup_isolated_genserver(Counter, "", name: name)
      assert Process.whereis(name) == named

      {:ok, unnamed} = setup_isolated_genserver(Counter, "", name: nil)
      assert Process.info(unnamed, :registered_name) == {:registered_name, []}
    end

    test "the server is not linked to the test, which may crash it" do
      {:ok, pid} = setup_isolated_genserver(Counter)
      {:links, links} = Process.info(self(), :links)
      refute pid in links
      ref = Process.monitor(pid)
      Process.exit(pid, :kill)
      assert_receive {:DOWN, ^ref, :process, ^pid, :killed}
    end

    test "tracked in the isolation context" do
      {:ok, pid} = setup_isolated_genserver(Counter)
      ctx = Supertester.UnifiedTestFoundation.fetch_isolation_context()
      assert [%{pid: ^pid, module: Counter, name: name} | _] = ctx.processes
      assert is_atom(name)
    end

    test "an init that fails is an error, not a crash of the test" do
      Process.flag(:trap_exit, false)
      assert {:error, _} = setup_isolated_genserver(Supertester.Test.FailingInit)
    end

    test "a module that is not a GenServer is refused" do
      assert_raise ArgumentError, ~r/gen_server callback module/, fn ->
        setup_isolated_genserver(String)
      end

      assert_raise ArgumentError, ~r/unknown|option/, fn ->
        setup_isolated_genserver(Counter, "", initial_state: %{})
      end
    end
  end

  describe "setup_isolated_supervisor/3" do
    for strategy <- [:one_for_one, :one_for_all, :rest_for_one] do
      test "#{strategy}: init args reach the supervisor, which outlives its starter" do
        # Started from a task working for the test: it belongs to the
        # test's context ($callers), not to the task, which then exits.
        task = Task.async(fn -> setup_isolated_supervisor(Tree, "tree", init_args: unquote(strategy)) end)
        {:ok, sup} = Task.await(task)
        refute Process.alive?(task.pid)
        assert Process.alive?(sup)
        # The task recorded it in the test's context (one record, in C).
        tracked = :supertester_isolation.tracked(:supertester_isolation.current())
        assert sup in for({:process, pid, _info} <- tracked, do: pid)
        assert {:ok, %{strategy: unquote(strategy)}} = :supertester_sup.flags(sup)
        assert %{active: 3} = Supervisor.count_children(sup)
      end
    end

    test "children restarted after a crash are waited for" do
      {:ok, sup} = setup_isolated_supervisor(Tree, "restart", init_args: :one_for_all)
      [{_, child, _, _} | _] = Supervisor.which_children(sup)
      Process.exit(child, :kill)
      assert {:ok, ^sup} = wait_for_supervisor_restart(sup, 2000)
      assert Enum.all?(Supervisor.which_children(sup), fn {_, p, _, _} -> is_pid(p) and p != child end)
    end
  end

  describe "waiting" do
    test "wait_for_genserver_sync does not crash a server without the sync handler" do
      {:ok, pid} = setup_isolated_genserver(Counter)
      GenServer.cast(pid, :increment)
      assert :ok == wait_for_genserver_sync(pid)
      assert GenServer.call(pid, :get) == 1
    end

    test "wait_for_genserver_sync on a dead pid or bad timeout" do
      dead = spawn(fn -> :ok end)
      ref = Process.monitor(dead)
      assert_receive {:DOWN, ^ref, :process, _, _}
      assert {:error, :noproc} = wait_for_genserver_sync(dead)

      assert_raise ArgumentError, ~r/non-negative integer/, fn ->
        wait_for_genserver_sync(dead, -5)
      end
    end

    test "wait_for_process_restart sees a supervised named server come back" do
      name = :"restart_#{System.unique_integer([:positive])}"
      children = [%{id: :worker, start: {GenServer, :start_link, [Counter, 0, [name: name]]}}]
      {:ok, _sup} = start_supervised(%{id: :sup, start: {Supervisor, :start_link, [children, [strategy: :one_for_one]]}, type: :supervisor})
      original = Process.whereis(name)
      GenServer.stop(name)
      assert {:ok, new} = wait_for_process_restart(name, original, 2000)
      assert new != original and Process.whereis(name) == new
    end

    test "wait_for_process_restart gives up when nothing restarts the process" do
      # A name of its own: pooled names pass to the next server at once.
      name = :"no_restart_#{System.unique_integer([:positive])}"
      {:ok, pid} = setup_isolated_genserver(Counter, "", name: name)
      GenServer.stop(pid)
      assert {:error, :timeout} = wait_for_process_restart(name, pid, 50)
    end

    test "wait_for_process_death and monitor_process_lifecycle" do
      pid = spawn(fn -> receive do: (:stop -> :ok) end)
      {ref, ^pid} = monitor_process_lifecycle(pid)
      assert {:error, :timeout} = wait_for_process_death(pid, 10)
      send(pid, :stop)
      assert {:ok, :normal} = wait_for_process_death(pid)
      assert_receive {:DOWN, ^ref, :process, ^pid, :normal}
    end
  end

  describe "cleanup" do
    test "cleanup_processes stops servers and plain processes" do
      {:ok, server} = GenServer.start(Counter, 0)
      plain = spawn(fn -> receive do: (:never -> :ok) end)
      assert :ok == cleanup_processes([server, plain])
      refute Process.alive?(server) or Process.alive?(plain)
    end
  end
end
