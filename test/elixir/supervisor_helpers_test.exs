defmodule Supertester.SupervisorHelpersTest do
  # As a user of Supertester 0.5.1 writes them: real supervisors of real
  # GenServers, the helpers imported. Every supervisor is the test's own
  # (unnamed, or under a name of its own), so the tests run concurrently.
  use ExUnit.Case, async: true

  import Supertester.SupervisorHelpers

  alias Supertester.Test.Crash.{Cache, PoolSup, RootSup, Sup, Worker}

  defp unique(prefix), do: :"sh_#{prefix}_#{System.unique_integer([:positive])}"

  # Unnamed workers with child ids `ids`, in this start order.
  defp children(ids), do: for(id <- ids, do: Supervisor.child_spec({Worker, []}, id: id))

  defp start_sup(strategy, opts \\ []) do
    {ids, opts} = Keyword.pop(opts, :ids, [:a, :b, :c])
    start_supervised!({Sup, [strategy: strategy, children: children(ids)] ++ opts})
  end

  # Not restarted by ExUnit's test supervisor when it dies, nor linked to
  # the test.
  defp start_temporary_sup(strategy, opts) do
    spec = {Sup, [strategy: strategy, children: children([:a, :b, :c])] ++ opts}
    start_supervised!(Supervisor.child_spec(spec, restart: :temporary))
  end

  defp child_pids(sup), do: Map.new(Supervisor.which_children(sup), fn {id, pid, _, _} -> {id, pid} end)

  describe "test_restart_strategy/3" do
    test "one_for_one restarts only the failed child (the reference's example)" do
      supervisor = start_sup(:one_for_one)
      before = child_pids(supervisor)

      result = test_restart_strategy(supervisor, :one_for_one, {:kill_child, :a})

      assert result.restarted == [:a]
      assert result.not_restarted == [:b, :c]
      assert result.supervisor_alive == true
      assert result == %{restarted: [:a], not_restarted: [:b, :c], supervisor_alive: true}

      now = child_pids(supervisor)
      assert now.a != before.a and Process.alive?(now.a)
      assert now.b == before.b and now.c == before.c
    end

    test "one_for_all restarts every child" do
      supervisor = start_sup(:one_for_all)
      before = child_pids(supervisor)

      assert test_restart_strategy(supervisor, :one_for_all, {:kill_child, :b}) ==
               %{restarted: [:a, :b, :c], not_restarted: [], supervisor_alive: true}

      now = child_pids(supervisor)
      for id <- [:a, :b, :c], do: assert(now[id] != before[id])
    end

    test "rest_for_one restarts the failed child and those started after it" do
      supervisor = start_sup(:rest_for_one)
      before = child_pids(supervisor)

      assert test_restart_strategy(supervisor, :rest_for_one, {:kill_child, :b}) ==
               %{restarted: [:b, :c], not_restarted: [:a], supervisor_alive: true}

      now = child_pids(supervisor)
      assert now.a == before.a
      assert now.b != before.b and now.c != before.c
    end

    test "rest_for_one, killing the last child" do
      supervisor = start_sup(:rest_for_one)

      assert test_restart_strategy(supervisor, :rest_for_one, {:kill_child, :c}) ==
               %{restarted: [:c], not_restarted: [:a, :b], supervisor_alive: true}
    end

    test "{:kill_children, ids} with one_for_one" do
      supervisor = start_sup(:one_for_one, ids: [:a, :b, :c, :d])
      before = child_pids(supervisor)

      assert test_restart_strategy(supervisor, :one_for_one, {:kill_children, [:a, :c]}) ==
               %{restarted: [:a, :c], not_restarted: [:b, :d], supervisor_alive: true}

      now = child_pids(supervisor)
      assert now.b == before.b and now.d == before.d
    end

    test "{:kill_children, ids} with one_for_all" do
      supervisor = start_sup(:one_for_all)

      assert test_restart_strategy(supervisor, :one_for_all, {:kill_children, [:a, :c]}) ==
               %{restarted: [:a, :b, :c], not_restarted: [], supervisor_alive: true}
    end

    test "{:kill_children, ids} with rest_for_one" do
      supervisor = start_sup(:rest_for_one, ids: [:a, :b, :c, :d])

      assert test_restart_strategy(supervisor, :rest_for_one, {:kill_children, [:b, :d]}) ==
               %{restarted: [:b, :c, :d], not_restarted: [:a], supervisor_alive: true}
    end

    test "while the supervisor's events are being traced (it cannot be watched)" do
      supervisor = start_sup(:rest_for_one)
      before = child_pids(supervisor)
      {:ok, stop_trace} = trace_supervision_events(supervisor)

      assert test_restart_strategy(supervisor, :rest_for_one, {:kill_child, :b}) ==
               %{restarted: [:b, :c], not_restarted: [:a], supervisor_alive: true}

      events = stop_trace.()
      assert {:child_terminated, :b, before.b, :killed} in events
      assert Enum.count(events, &match?({:child_restarted, _, _, _}, &1)) == 2
    end

    test "a supervisor given by name" do
      name = unique(:sup)
      start_sup(:one_for_one, name: name)

      assert %{restarted: [:b], not_restarted: [:a, :c], supervisor_alive: true} =
               test_restart_strategy(name, :one_for_one, {:kill_child, :b})
    end

    test "a supervisor running another strategy fails the test, killing nothing" do
      supervisor = start_sup(:one_for_one)
      before = child_pids(supervisor)

      error =
        assert_raise ExUnit.AssertionError, fn ->
          test_restart_strategy(supervisor, :one_for_all, {:kill_child, :a})
        end

      assert error.message =~ "one_for_all"
      assert error.message =~ "one_for_one"
      assert child_pids(supervisor) == before

      assert_raise ExUnit.AssertionError, ~r/rest_for_one/, fn ->
        test_restart_strategy(supervisor, :rest_for_one, {:kill_children, [:a, :b]})
      end

      assert child_pids(supervisor) == before
    end

    @tag :capture_log
    test "restart intensity exceeded: the supervisor is reported dead" do
      supervisor = start_temporary_sup(:one_for_one, max_restarts: 0)

      result = test_restart_strategy(supervisor, :one_for_one, {:kill_child, :a})

      assert result.supervisor_alive == false
      assert result.restarted == []
      refute Process.alive?(supervisor)
    end
  end

  describe "assert_supervision_tree_structure/2" do
    @expected %{
      supervisor: RootSup,
      strategy: :one_for_one,
      children: [
        {:cache, Cache},
        {:workers,
         %{
           supervisor: PoolSup,
           strategy: :one_for_all,
           children: [{:worker_1, Worker}, {:worker_2, Worker}]
         }}
      ]
    }

    test "a nested tree matches (the reference's example)" do
      root = start_supervised!({RootSup, []})
      assert assert_supervision_tree_structure(root, @expected) == :ok
    end

    test "named supervisors, children in another order, a nested supervisor by its module" do
      name = unique(:root)
      pool = unique(:pool)
      start_supervised!({RootSup, name: name, pool_name: pool})

      assert :ok =
               assert_supervision_tree_structure(name, %{
                 supervisor: RootSup,
                 strategy: :one_for_one,
                 children: [{:workers, PoolSup}, {:cache, Cache}]
               })

      assert :ok =
               assert_supervision_tree_structure(pool, %{
                 supervisor: PoolSup,
                 strategy: :one_for_all,
                 children: [{:worker_2, Worker}, {:worker_1, Worker}]
               })

      # Every key is optional.
      assert :ok = assert_supervision_tree_structure(name, %{strategy: :one_for_one})
      assert :ok = assert_supervision_tree_structure(name, %{})
    end

    test "a wrong strategy in the nested supervisor names it" do
      root = start_supervised!({RootSup, []})
      expected = put_in(@expected, [:children], [{:cache, Cache}, {:workers, %{strategy: :rest_for_one}}])

      error = assert_raise ExUnit.AssertionError, fn -> assert_supervision_tree_structure(root, expected) end

      assert error.message =~ "workers"
      assert error.message =~ "strategy"
      assert error.message =~ "rest_for_one"
      assert error.message =~ "one_for_all"
    end

    test "a missing and an unexpected child are both reported" do
      root = start_supervised!({RootSup, []})
      expected = %{@expected | children: [{:cache, Cache}, {:queue, Cache}]}

      error = assert_raise ExUnit.AssertionError, fn -> assert_supervision_tree_structure(root, expected) end

      assert error.message =~ "queue"
      assert error.message =~ "missing"
      assert error.message =~ "workers"
      assert error.message =~ "not expected"
    end

    test "a wrong module, for the root, a nested supervisor and a worker" do
      name = unique(:root)
      start_supervised!({RootSup, name: name})

      assert_raise ExUnit.AssertionError, ~r/PoolSup/, fn ->
        assert_supervision_tree_structure(name, %{@expected | supervisor: PoolSup})
      end

      assert_raise ExUnit.AssertionError, ~r/cache/, fn ->
        assert_supervision_tree_structure(name, %{children: [{:cache, Worker}, {:workers, PoolSup}]})
      end

      error =
        assert_raise ExUnit.AssertionError, fn ->
          assert_supervision_tree_structure(name, %{
            children: [
              {:cache, Cache},
              {:workers, %{supervisor: Sup, children: [{:worker_1, Cache}, {:worker_2, Worker}]}}
            ]
          })
        end

      assert error.message =~ "worker_1"
      assert error.message =~ "Crash.Cache"
      assert error.message =~ "Crash.Sup"
      refute error.message =~ "worker_2"
    end

    test "a worker expected to be a supervisor" do
      root = start_supervised!({RootSup, []})

      assert_raise ExUnit.AssertionError, ~r/cache/, fn ->
        assert_supervision_tree_structure(root, %{children: [{:cache, %{strategy: :one_for_one}}, {:workers, PoolSup}]})
      end
    end
  end

  describe "trace_supervision_events/2" do
    test "killing every child of a one_for_one supervisor (the reference's example)" do
      supervisor = start_sup(:one_for_one)
      {:ok, stop_trace} = trace_supervision_events(supervisor)

      # Cause some failures
      children = Supervisor.which_children(supervisor)

      Enum.each(children, fn {_id, pid, _type, _mods} ->
        Process.exit(pid, :kill)
      end)

      # Get events
      events = stop_trace.()

      # Verify restart sequence
      assert length(events) >= 6
      assert Enum.count(events, &match?({:child_terminated, _, _, _}, &1)) >= 3
      assert Enum.count(events, &match?({:child_restarted, _, _, _}, &1)) >= 3
    end

    test "killing every child, once the supervisor is stable: 3 terminated, 3 restarted" do
      supervisor = start_sup(:one_for_one)
      before = child_pids(supervisor)
      {:ok, stop_trace} = trace_supervision_events(supervisor)

      for {_id, pid} <- before, do: Process.exit(pid, :kill)
      :ok = wait_for_supervisor_stabilization(supervisor)
      events = stop_trace.()

      terminated = for {:child_terminated, id, pid, reason} <- events, do: {id, pid, reason}
      restarted = for {:child_restarted, id, old, new} <- events, do: {id, old, new}
      assert Enum.sort(terminated) == Enum.sort(for {id, pid} <- before, do: {id, pid, :killed})
      assert length(restarted) == 3
      assert Enum.sort(for {id, _, _} <- restarted, do: id) == [:a, :b, :c]
      assert Enum.sort(for {_, old, _} <- restarted, do: old) == Enum.sort(Map.values(before))
    end

    test "one_for_one: each restart names the child that got the new pid" do
      supervisor = start_sup(:one_for_one)
      before = child_pids(supervisor)
      {:ok, stop_trace} = trace_supervision_events(supervisor)

      # Killed in the reverse of their start order: the supervisor restarts
      # them in the order it learns of their deaths.
      for id <- [:c, :b, :a], do: Process.exit(before[id], :kill)
      :ok = wait_for_supervisor_stabilization(supervisor)
      events = stop_trace.()
      now = child_pids(supervisor)

      restarted = for {:child_restarted, id, old, new} <- events, do: {id, old, new}
      assert Enum.sort(restarted) == [{:a, before.a, now.a}, {:b, before.b, now.b}, {:c, before.c, now.c}]
    end

    test "one_for_all: the cascade, in order" do
      supervisor = start_sup(:one_for_all)
      before = child_pids(supervisor)
      {:ok, stop_trace} = trace_supervision_events(supervisor)

      Process.exit(before.b, :kill)
      :ok = wait_for_supervisor_stabilization(supervisor)
      events = stop_trace.()
      now = child_pids(supervisor)

      # First the death the supervisor reacts to, then its siblings stopped
      # by the supervisor, then the three started again, in start order.
      assert [{:child_terminated, :b, b, :killed} | rest] = events
      assert b == before.b

      {stops, restarts} = Enum.split_with(rest, &match?({:child_terminated, _, _, _}, &1))
      assert Enum.sort(for {:child_terminated, id, pid, _} <- stops, do: {id, pid}) == [a: before.a, c: before.c]
      for {:child_terminated, _, _, reason} <- stops, do: assert(reason == :shutdown)

      assert restarts == [
               {:child_restarted, :a, before.a, now.a},
               {:child_restarted, :b, before.b, now.b},
               {:child_restarted, :c, before.c, now.c}
             ]
    end

    test "nothing happening records nothing" do
      supervisor = start_sup(:one_for_one)
      {:ok, stop_trace} = trace_supervision_events(supervisor, max_events: 1000)
      assert Supervisor.count_children(supervisor).active == 3
      assert stop_trace.() == []
    end

    @tag :capture_log
    test "restart intensity exceeded: {:supervisor_terminated, pid, reason}" do
      supervisor = start_temporary_sup(:one_for_one, max_restarts: 0)
      before = child_pids(supervisor)
      ref = Process.monitor(supervisor)
      {:ok, stop_trace} = trace_supervision_events(supervisor)

      Process.exit(before.a, :kill)
      assert_receive {:DOWN, ^ref, :process, ^supervisor, reason}
      events = stop_trace.()

      assert {:child_terminated, :a, before.a, :killed} in events
      assert List.last(events) == {:supervisor_terminated, supervisor, reason}
      refute Enum.any?(events, &match?({:child_restarted, _, _, _}, &1))
    end
  end

  describe "wait_for_supervisor_stabilization/2 and get_active_child_count/1" do
    test "after every child was killed, all run again" do
      supervisor = start_sup(:one_for_one)
      before = child_pids(supervisor)
      assert get_active_child_count(supervisor) == 3

      for {_id, pid} <- before, do: Process.exit(pid, :kill)

      assert wait_for_supervisor_stabilization(supervisor) == :ok
      now = child_pids(supervisor)

      for id <- [:a, :b, :c] do
        assert now[id] != before[id]
        assert Process.alive?(now[id])
      end

      assert get_active_child_count(supervisor) == 3
    end

    test "a temporary child that died is gone, a stopped child does not count" do
      name = unique(:sup)

      start_supervised!(
        {Sup,
         name: name, children: children([:a, :b]) ++ [Supervisor.child_spec({Worker, []}, id: :temp, restart: :temporary)]}
      )

      assert get_active_child_count(name) == 3
      temp = child_pids(name).temp
      Process.exit(temp, :kill)

      assert wait_for_supervisor_stabilization(name, 1000) == :ok
      refute Map.has_key?(child_pids(name), :temp)
      assert get_active_child_count(name) == 2

      :ok = Supervisor.terminate_child(name, :b)
      assert wait_for_supervisor_stabilization(name) == :ok
      assert get_active_child_count(name) == 1
      assert Supervisor.count_children(name).workers == 2
    end

    test "a stable supervisor is stable at once" do
      supervisor = start_sup(:rest_for_one)
      assert wait_for_supervisor_stabilization(supervisor, 100) == :ok
      assert get_active_child_count(supervisor) == 3
    end
  end
end
