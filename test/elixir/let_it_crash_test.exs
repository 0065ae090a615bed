defmodule LetItCrashTest do
  # Written as a user of LetItCrash 0.6.0 writes tests: `use LetItCrash`,
  # real GenServers under real Supervisors. Every process is registered
  # under a name of its own test, so the tests run concurrently.
  use ExUnit.Case, async: true
  use LetItCrash

  alias Supertester.Test.Crash.{Sup, Worker}

  # A name no other test uses.
  defp unique(prefix), do: :"lic_#{prefix}_#{System.unique_integer([:positive])}"

  # A supervisor of workers registered under `names` (child id = name).
  defp start_tree(names, opts \\ []) do
    {worker_opts, opts} = Keyword.pop(opts, :worker, [])
    start_supervised!({Sup, [children: Sup.workers(names, worker_opts)] ++ opts})
  end

  # The same, but not restarted by ExUnit's test supervisor when it dies
  # (restart intensity tests), and not linked to the test process.
  defp start_temporary_tree(names, opts) do
    start_supervised!(Supervisor.child_spec({Sup, [children: Sup.workers(names)] ++ opts}, restart: :temporary))
  end

  describe "use LetItCrash" do
    test "imports exactly the documented functions" do
      imported = __ENV__.functions |> Keyword.get(LetItCrash, []) |> Enum.sort()

      assert imported ==
               Enum.sort(
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
               )
    end
  end

  describe "crash/2 and recovered?/1,2,3" do
    test "a supervised named GenServer recovers (the reference's example)" do
      name = unique(:server)
      start_tree([name])

      original_pid = Process.whereis(name)
      assert :ok = LetItCrash.crash(name)
      assert LetItCrash.recovered?(name, original_pid)

      new_pid = Process.whereis(name)
      assert is_pid(new_pid) and new_pid != original_pid
      refute Process.alive?(original_pid)
      assert Worker.get(name) == 0
    end

    test "crash(pid) then recovered?(name): the crash record is the original" do
      name = unique(:server)
      start_tree([name])
      pid = Process.whereis(name)
      Worker.increment(pid)

      assert crash(pid) == :ok
      assert recovered?(name)
      assert Process.whereis(name) != pid
      assert Worker.get(name) == 0
    end

    test "unqualified, piped, with :kill" do
      name = unique(:server)
      start_tree([name])
      original = Process.whereis(name)

      assert :ok = Process.whereis(name) |> crash(:kill)
      assert recovered?(name, original, timeout: 1000)
      refute Process.whereis(name) == original
    end

    test "start_tracking/0 remembers the pids for recovered?/1" do
      name = unique(:server)
      other = unique(:other)
      start_tree([name, other])
      original = Process.whereis(name)
      other_pid = Process.whereis(other)

      assert LetItCrash.start_tracking() == :ok
      # Killed without crash/2: only the tracking knows the original.
      Process.exit(original, :kill)

      assert recovered?(name)
      assert Process.whereis(name) != original
      # The other one was not restarted.
      refute recovered?(other, timeout: 50)
      assert Process.whereis(other) == other_pid
    end

    test "a GenServer trapping exits survives :shutdown and needs :kill" do
      name = unique(:trapper)
      start_tree([name], worker: [trap_exit: true])
      original = Process.whereis(name)

      assert crash(name) == :ok
      refute recovered?(name, timeout: 50)
      assert Process.whereis(name) == original
      assert Process.alive?(original)
      assert Worker.get(name) == 0

      assert crash(name, :kill) == :ok
      assert recovered?(name)
      assert Process.whereis(name) != original
      refute Process.alive?(original)
    end

    test "an unsupervised process does not recover" do
      name = unique(:lonely)
      {:ok, pid} = GenServer.start(Worker, [], name: name)

      assert crash(name) == :ok
      refute recovered?(name, timeout: 50)
      refute Process.alive?(pid)
      assert Process.whereis(name) == nil
    end

    test "a name with nothing registered is an error" do
      assert crash(unique(:nobody)) == {:error, :not_found}
      assert crash(unique(:nobody), :kill) == {:error, :not_found}
    end
  end

  describe "wait_for_exit/1,2" do
    test "an unlinked Agent after crash (the reference's example)" do
      {:ok, pid} = Agent.start_link(fn -> 0 end)
      Process.unlink(pid)

      LetItCrash.crash(pid)

      :ok = LetItCrash.wait_for_exit(pid)
      refute Process.alive?(pid)
    end

    test "a live process times out; a dead one returns at once" do
      {:ok, pid} = Agent.start(fn -> 0 end)
      assert wait_for_exit(pid, timeout: 50) == {:error, :timeout}
      assert Process.alive?(pid)

      Agent.stop(pid)
      assert wait_for_exit(pid) == :ok
      assert wait_for_exit(pid, timeout: 50) == :ok
    end
  end

  describe "wait_for_process/1,2" do
    test "a worker is available after its supervisor starts" do
      name = unique(:worker)
      start_tree([name])

      :ok = LetItCrash.wait_for_process(name)
      assert Worker.get(name) == 0
    end

    test "waits for a process started asynchronously" do
      name = unique(:late)
      sup = start_tree([])
      [spec] = Sup.workers([name])

      # Started by another process, at a moment the test does not choose.
      {:ok, _} = Task.start(fn -> Supervisor.start_child(sup, spec) end)

      assert wait_for_process(name) == :ok
      assert is_pid(Process.whereis(name))
      assert Worker.get(name) == 0
    end

    test "after a crash, waits for the replacement" do
      name = unique(:worker)
      start_tree([name])
      original = Process.whereis(name)

      crash(name, :kill)

      assert wait_for_process(name, timeout: 1000) == :ok
      new = Process.whereis(name)
      assert is_pid(new) and new != original
    end

    test "a name that never appears times out" do
      assert wait_for_process(unique(:never), timeout: 50) == {:error, :timeout}
    end
  end

  describe "test_restart/2,3" do
    test "the state resets after the restart (the reference's example)" do
      name = unique(:stateful)
      start_tree([name])
      test = self()

      assert :ok =
               LetItCrash.test_restart(name, fn ->
                 assert Worker.get(name) == 0
                 Worker.increment(name)
                 assert Worker.get(name) == 1
                 send(test, {:ran_with, Process.whereis(name)})
               end)

      # The function ran twice, once on each process.
      assert_received {:ran_with, first}
      assert_received {:ran_with, second}
      refute_received {:ran_with, _}
      assert first != second
      refute Process.alive?(first)
      assert Process.whereis(name) == second
    end

    test "by pid, for an unnamed child" do
      sup = start_supervised!({Sup, children: [Supervisor.child_spec({Worker, []}, id: :anonymous)]})
      [{:anonymous, pid, :worker, _}] = Supervisor.which_children(sup)
      test = self()

      current = fn ->
        [{:anonymous, pid, :worker, _}] = Supervisor.which_children(sup)
        pid
      end

      assert :ok =
               test_restart(pid, fn ->
                 assert Worker.get(current.()) == 0
                 Worker.increment(current.())
                 send(test, {:ran_with, current.()})
               end)

      assert_received {:ran_with, ^pid}
      assert_received {:ran_with, new}
      assert new != pid
      assert current.() == new
    end

    test "a GenServer trapping exits is restarted too (killed with :kill)" do
      name = unique(:trapper)
      start_tree([name], worker: [trap_exit: true])
      original = Process.whereis(name)

      assert test_restart(name, fn -> assert Worker.get(name) == 0 end, timeout: 1000) == :ok
      assert Process.whereis(name) != original
    end

    test "what the function raises propagates, before anything is killed" do
      name = unique(:stateful)
      start_tree([name])
      original = Process.whereis(name)

      assert_raise ExUnit.AssertionError, ~r/no good/, fn ->
        test_restart(name, fn -> flunk("no good") end)
      end

      assert Process.whereis(name) == original
      assert Process.alive?(original)
    end

    test "a process nobody restarts, or none at all, is an error" do
      name = unique(:lonely)
      {:ok, pid} = GenServer.start(Worker, [], name: name)

      assert {:error, _} = test_restart(name, fn -> :ok end, timeout: 100)
      refute Process.alive?(pid)
      assert test_restart(unique(:nobody), fn -> :ok end) == {:error, :not_found}
    end
  end

  describe "assert_clean_registry/2,3" do
    setup do
      registry = unique(:registry)
      start_supervised!({Registry, keys: :unique, name: registry})
      %{registry: registry}
    end

    test "children registered with {:via, Registry, {registry, key}}", %{registry: registry} do
      key = {:worker, System.unique_integer()}
      via = {:via, Registry, {registry, key}}
      start_supervised!({Sup, children: [Supervisor.child_spec({Worker, [name: via]}, id: :via_worker)]})
      [{old, _}] = Registry.lookup(registry, key)

      assert crash(old) == :ok
      assert assert_clean_registry(registry, key) == :ok

      assert [{new, _}] = Registry.lookup(registry, key)
      assert new != old
      assert Process.alive?(new)
      assert GenServer.whereis(via) == new
    end

    test "a child that registers itself in init under its own name", %{registry: registry} do
      name = unique(:self_registered)
      start_tree([name], worker: [registry: {registry, name}])
      old = Process.whereis(name)
      assert [{^old, :worker}] = Registry.lookup(registry, name)

      assert LetItCrash.crash(name) == :ok
      assert LetItCrash.assert_clean_registry(registry, name) == :ok

      new = Process.whereis(name)
      assert new != old
      assert [{^new, :worker}] = Registry.lookup(registry, name)
    end

    test "twice in a row, with :kill and a timeout", %{registry: registry} do
      name = unique(:self_registered)
      start_tree([name], worker: [registry: {registry, name}])

      for _ <- 1..2 do
        old = Process.whereis(name)
        crash(name, :kill)
        assert assert_clean_registry(registry, name, timeout: 2000) == :ok
        assert [{new, :worker}] = Registry.lookup(registry, name)
        assert new != old and new == Process.whereis(name)
      end
    end

    test "a key with no live entry is an error", %{registry: registry} do
      assert {:error, _} = assert_clean_registry(registry, unique(:nobody), timeout: 50)
      assert {:error, _} = assert_clean_registry(registry, {:no, :entry}, timeout: 50)
    end

    test "a crashed process that nobody restarts is an error", %{registry: registry} do
      name = unique(:lonely)
      {:ok, pid} = GenServer.start(Worker, [registry: {registry, name}], name: name)
      assert [{^pid, _}] = Registry.lookup(registry, name)

      crash(name)

      assert {:error, _} = assert_clean_registry(registry, name, timeout: 100)
      assert Registry.lookup(registry, name) == []
    end
  end

  describe "verify_ets_cleanup/2,3" do
    test "an entry in a table owned by the crashed server is gone (defaults)" do
      name = unique(:cache_owner)
      table = unique(:cache)
      start_tree([name], worker: [ets: {table, []}])
      :ets.insert(table, {:server_data, "important"})

      LetItCrash.crash(name)
      assert LetItCrash.verify_ets_cleanup(table, :server_data) == :ok
      refute match?([_], safe_lookup(table, :server_data))
    end

    test "an entry the restarted server puts back (expect_recreate: true)" do
      name = unique(:cache_owner)
      table = unique(:cache)
      start_tree([name], worker: [ets: {table, [{:config, :loaded}]}])
      old = Process.whereis(name)
      assert :ets.info(table, :owner) == old

      crash(name)

      assert verify_ets_cleanup(table, :config, expect_cleanup: true, expect_recreate: true) == :ok
      assert :ets.lookup(table, :config) == [{:config, :loaded}]
      assert :ets.info(table, :owner) != old
    end

    test "expect_recreate: true once the server is already back" do
      name = unique(:cache_owner)
      table = unique(:cache)
      start_tree([name], worker: [ets: {table, [{:config, :loaded}]}])

      crash(name)
      assert recovered?(name)

      # Cleaned up (the old table went with its owner) and recreated
      # (by the new owner) before the check began.
      assert verify_ets_cleanup(table, :config, expect_recreate: true, timeout: 200) == :ok
    end

    test "an entry the restarted server does not put back is reported" do
      name = unique(:cache_owner)
      table = unique(:cache)
      start_tree([name], worker: [ets: {table, []}])
      :ets.insert(table, {:session, 1})

      crash(name)

      assert {:error, _} = verify_ets_cleanup(table, :session, expect_recreate: true, timeout: 100)
    end

    test "an entry that survives the crash is reported" do
      name = unique(:server)
      start_tree([name])
      # The table belongs to the test process, not to the crashed server.
      table = :ets.new(:survivor, [:public])
      :ets.insert(table, {:kept, 1})

      crash(name)

      assert {:error, _} = verify_ets_cleanup(table, :kept, timeout: 50)
      assert verify_ets_cleanup(table, :kept, expect_cleanup: false) == :ok
      assert {:error, _} = verify_ets_cleanup(table, :missing, expect_cleanup: false)
    end
  end

  describe "assert_supervision_impact/3" do
    setup do
      [a, b, c] = names = for n <- [:a, :b, :c], do: unique(n)
      %{names: names, a: a, b: b, c: c}
    end

    defp pids(names), do: Map.new(names, &{&1, Process.whereis(&1)})

    test "one_for_one: only the crashed child restarts", %{names: names, a: a, b: b, c: c} do
      sup_name = unique(:sup)
      start_tree(names, strategy: :one_for_one, name: sup_name)
      before = pids(names)

      assert :ok =
               LetItCrash.assert_supervision_impact(sup_name, a,
                 expect: [a: :restarted, b: :alive, c: :alive] |> rename(a: a, b: b, c: c)
               )

      now = pids(names)
      assert now[a] != before[a] and is_pid(now[a])
      assert now[b] == before[b]
      assert now[c] == before[c]
    end

    test "one_for_all: every child restarts", %{names: names, a: a, b: b, c: c} do
      sup = start_tree(names, strategy: :one_for_all)
      before = pids(names)

      assert :ok = assert_supervision_impact(sup, a, expect: [{a, :restarted}, {b, :restarted}, {c, :restarted}])

      now = pids(names)
      for n <- names, do: assert(is_pid(now[n]) and now[n] != before[n])
    end

    test "rest_for_one: the crashed child and those started after it restart",
         %{names: names, a: a, b: b, c: c} do
      sup = start_tree(names, strategy: :rest_for_one)
      before = pids(names)

      assert :ok =
               assert_supervision_impact(sup, b,
                 expect: [{a, :alive}, {b, :restarted}, {c, :restarted}],
                 signal: :kill,
                 timeout: 2000
               )

      now = pids(names)
      assert now[a] == before[a]
      assert now[b] != before[b]
      assert now[c] != before[c]
    end

    test "assertion functions run once the status is confirmed", %{names: names, a: a, b: b, c: c} do
      sup = start_tree(names, strategy: :one_for_one)
      Worker.increment(b)
      Worker.increment(b)
      original_a = Process.whereis(a)
      test = self()

      assert :ok =
               assert_supervision_impact(sup, a,
                 expect: [
                   {a,
                    {:restarted,
                     fn ->
                       assert Worker.get(a) == 0
                       send(test, {:checked, a, Process.whereis(a)})
                     end}},
                   {b,
                    {:alive,
                     fn ->
                       assert Worker.get(b) == 2
                       send(test, {:checked, b, Process.whereis(b)})
                     end}},
                   {c, :alive}
                 ]
               )

      assert_received {:checked, ^a, new_a}
      assert new_a != original_a
      assert_received {:checked, ^b, _}
      refute_received {:checked, _, _}
    end

    test "an assertion function that fails fails the test", %{names: names, a: a, b: b, c: c} do
      sup = start_tree(names, strategy: :one_for_one)

      assert_raise ExUnit.AssertionError, ~r/b is broken/, fn ->
        assert_supervision_impact(sup, a,
          expect: [{a, :restarted}, {b, {:alive, fn -> flunk("b is broken") end}}, {c, :alive}]
        )
      end
    end

    test "a wrong expectation is reported per process, and its function never runs",
         %{names: names, a: a, b: b, c: c} do
      sup = start_tree(names, strategy: :one_for_one)
      before = pids(names)
      test = self()

      result =
        assert_supervision_impact(sup, a,
          expect: [
            {a, :restarted},
            {b, {:restarted, fn -> send(test, {:ran, b}) end}},
            {c, :alive}
          ],
          timeout: 300
        )

      assert {:error, {:unexpected_impact, report}} = result
      assert Map.keys(report) == [b]
      assert %{expected: :restarted, seen: :alive} = report[b]
      assert report[b].before == before[b]
      assert report[b].now == before[b]
      refute_received {:ran, ^b}
    end

    test "the crashed child expected :alive is reported as restarted", %{names: names, a: a, b: b} do
      sup = start_tree(names, strategy: :one_for_all)
      before = pids(names)
      test = self()

      assert {:error, {:unexpected_impact, report}} =
               assert_supervision_impact(sup, a,
                 expect: [{a, {:alive, fn -> send(test, :ran_a) end}}, {b, :alive}],
                 timeout: 300
               )

      assert %{expected: :alive, seen: :restarted, before: old_a, now: new_a} = report[a]
      assert old_a == before[a]
      assert is_pid(new_a) and new_a != old_a
      assert %{expected: :alive, seen: :restarted} = report[b]
      refute_received :ran_a
    end

    test "a target that is not registered is an error", %{names: names} do
      sup = start_tree(names)
      assert {:error, _} = assert_supervision_impact(sup, unique(:nobody), expect: [])
    end

    @tag :capture_log
    test "restart intensity exceeded: the supervisor dies, nothing hangs",
         %{names: names, a: a, b: b, c: c} do
      sup_name = unique(:fragile_sup)
      sup = start_temporary_tree(names, strategy: :one_for_one, max_restarts: 0, name: sup_name)
      ref = Process.monitor(sup)

      assert :ok =
               assert_supervision_impact(sup_name, a,
                 expect: [{a, :stopped}, {b, :stopped}, {c, {:stopped, fn -> send(self(), :c_stopped) end}}]
               )

      assert_receive {:DOWN, ^ref, :process, ^sup, _}
      assert_received :c_stopped
      for n <- names, do: assert(Process.whereis(n) == nil)
    end

    @tag :capture_log
    test "restart intensity exceeded: expecting a restart is a report, not a hang",
         %{names: names, a: a, b: b} do
      sup = start_temporary_tree(names, strategy: :one_for_one, max_restarts: 0)
      ref = Process.monitor(sup)
      original_a = Process.whereis(a)

      assert {:error, {:unexpected_impact, report}} =
               assert_supervision_impact(sup, a, expect: [{a, :restarted}, {b, :alive}], timeout: 200)

      assert %{expected: :restarted, seen: :stopped, before: ^original_a, now: now} = report[a]
      refute is_pid(now)
      assert %{expected: :alive, seen: :stopped} = report[b]
      assert_receive {:DOWN, ^ref, :process, ^sup, _}
    end

    @tag :capture_log
    test "restart intensity exceeded: recovered? is false", %{names: names, a: a} do
      sup = start_temporary_tree(names, strategy: :one_for_one, max_restarts: 0)
      ref = Process.monitor(sup)
      original = Process.whereis(a)

      crash(a)

      refute recovered?(a, original, timeout: 100)
      refute recovered?(a, timeout: 100)
      assert_receive {:DOWN, ^ref, :process, ^sup, :shutdown}
    end
  end

  # [a: :restarted, ...] with :a, :b, :c standing for the test's names.
  defp rename(expect, names), do: for({k, v} <- expect, do: {Keyword.fetch!(names, k), v})

  defp safe_lookup(table, key) do
    :ets.lookup(table, key)
  rescue
    ArgumentError -> []
  end
end
