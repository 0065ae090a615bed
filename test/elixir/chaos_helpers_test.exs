defmodule Supertester.ChaosHelpersTest do
  # Written as a user of Supertester 0.5.1 writes chaos tests:
  # `import Supertester.ChaosHelpers`, real GenServers (Crash.Worker) under
  # real Supervisors (Crash.Sup). Every tree belongs to its own test, so the
  # tests run concurrently; the resource exhaustion tests, which count
  # VM-wide processes and tables, are in ChaosHelpersResourceTest below.
  use ExUnit.Case, async: true
  import Supertester.ChaosHelpers

  alias Supertester.Test.Crash.{Sup, Worker}

  # A name no other test uses.
  defp unique(prefix), do: :"chaos_#{prefix}_#{System.unique_integer([:positive])}"

  # A supervisor of unnamed workers whose child ids are `ids`, in start
  # order. Options: Crash.Sup's (strategy, max_restarts, name) and
  # restart: :temporary for a tree that ExUnit's test supervisor must not
  # restart when it dies (restart intensity tests).
  defp start_tree(ids, opts \\ []) do
    {restart, opts} = Keyword.pop(opts, :restart, :permanent)
    {worker_opts, opts} = Keyword.pop(opts, :worker, [])
    children = for id <- ids, do: Supervisor.child_spec({Worker, [id: id] ++ worker_opts}, id: id)
    spec = Supervisor.child_spec({Sup, [children: children] ++ opts}, id: unique(:tree), restart: restart)
    start_supervised!(spec)
  end

  # A worker nobody restarts, stopped with the test.
  defp temporary_worker do
    start_supervised!(Supervisor.child_spec({Worker, []}, id: unique(:worker), restart: :temporary))
  end

  defp pids(sup), do: Map.new(Supervisor.which_children(sup), fn {id, pid, _, _} -> {id, pid} end)

  defp all_children_alive?(sup) do
    Enum.all?(Supervisor.which_children(sup), fn {_, pid, _, _} -> is_pid(pid) and Process.alive?(pid) end)
  end

  # The ids of the children killed, in order.
  defp victims(report), do: for(%{event: :killed, child: id} <- report.timeline, do: id)

  defp ex_unit_seed, do: ExUnit.configuration()[:seed]

  describe "inject_crash/2,3" do
    test "the reference's three crash specs return :ok" do
      sup = start_tree([:worker], max_restarts: 100, worker: [notify: self()])
      worker = pids(sup)[:worker]

      # Immediate crash
      ref = Process.monitor(worker)
      assert_receive {:crash_worker_started, :worker, ^worker}
      assert inject_crash(worker, :immediate) == :ok
      assert_receive {:DOWN, ^ref, :process, ^worker, :chaos_injection}
      assert_receive {:crash_worker_started, :worker, worker}
      assert pids(sup)[:worker] == worker

      # Delayed crash
      ref = Process.monitor(worker)
      assert inject_crash(worker, {:after_ms, 100}) == :ok
      assert_receive {:DOWN, ^ref, :process, ^worker, :chaos_injection}, 5000
      assert_receive {:crash_worker_started, :worker, worker}

      # Random crash: whether it crashes is drawn from the seed (ExUnit's).
      assert inject_crash(worker, {:random, 0.5}) == :ok
      assert inject_crash(temporary_worker(), {:random, 0.3}) == :ok
      assert Process.alive?(sup)
    end

    test "immediate with a reason, and by registered name" do
      name = unique(:named)
      {:ok, pid} = GenServer.start(Worker, [], name: name)
      ref = Process.monitor(pid)

      assert inject_crash(name, :immediate, reason: :boom) == :ok
      assert_receive {:DOWN, ^ref, :process, ^pid, :boom}
      assert Process.whereis(name) == nil
    end

    test "{:after_ms, ms} does not crash at once" do
      worker = temporary_worker()

      assert inject_crash(worker, {:after_ms, 60_000}) == :ok
      # The timer gives up when this test process exits.
      assert Process.alive?(worker)
      assert Worker.get(worker) == 0
    end

    test "{:random, 0.0} never crashes, {:random, 1.0} always does" do
      for _ <- 1..10 do
        worker = temporary_worker()
        assert inject_crash(worker, {:random, 0.0}) == :ok
        assert Process.alive?(worker)
      end

      for _ <- 1..10 do
        worker = temporary_worker()
        assert inject_crash(worker, {:random, 1}) == :ok
        refute Process.alive?(worker)
      end
    end

    # Each process draws its own stream of the seed: the same calls in two
    # fresh processes make the same decisions.
    defp random_crash_in_fresh_process(target, p, opts) do
      Task.async(fn ->
        assert inject_crash(target, {:random, p}, opts) == :ok
        Process.alive?(target)
      end)
      |> Task.await()
    end

    test "{:random, p}: the seed decides, ExUnit's by default" do
      a = temporary_worker()
      b = temporary_worker()

      alive_a = random_crash_in_fresh_process(a, 0.5, [])
      alive_b = random_crash_in_fresh_process(b, 0.5, seed: ex_unit_seed())

      assert alive_a == alive_b
    end

    test "{:random, p}: the same seed gives the same outcome, and seeds differ" do
      outcomes =
        for seed <- 0..39 do
          [a, b] = for _ <- 1..2, do: temporary_worker()
          alive = random_crash_in_fresh_process(a, 0.5, seed: seed)
          assert random_crash_in_fresh_process(b, 0.5, seed: seed) == alive
          alive
        end

      assert true in outcomes
      assert false in outcomes
    end

    test "{:random, p}: successive crashes in a test draw successive values" do
      workers = for _ <- 1..40, do: temporary_worker()
      for w <- workers, do: assert(inject_crash(w, {:random, 0.5}, seed: 7) == :ok)
      crashed = Enum.count(workers, &(not Process.alive?(&1)))
      # Neither all nor none: 40 independent draws at p = 0.5.
      assert crashed > 0 and crashed < 40
    end

    test "a process that is already dead is left alone" do
      {:ok, w} = GenServer.start(Supertester.Test.Crash.Worker, [])
      ref = Process.monitor(w)
      assert inject_crash(w, :immediate) == :ok
      assert_receive {:DOWN, ^ref, :process, ^w, :chaos_injection}
      assert inject_crash(w, :immediate) == :ok
      assert inject_crash(w, {:random, 0.5}) == :ok
    end
  end

  describe "chaos_kill_children/2" do
    test "the reference's example: the supervisor survives" do
      supervisor = start_tree([:w1, :w2, :w3], max_restarts: 100)

      report = chaos_kill_children(supervisor, kill_rate: 0.5, duration_ms: 300, kill_interval_ms: 50)

      assert report.supervisor_crashed == false
      assert Process.alive?(supervisor)
      assert all_children_alive?(supervisor)
    end

    test "the report: 0.5.1's keys, and seed, plan, timeline" do
      sup = start_tree([:w1, :w2, :w3], max_restarts: 100)
      before = pids(sup)

      report = chaos_kill_children(sup, kill_rate: 0.5, duration_ms: 300, kill_interval_ms: 50)

      assert %{
               killed: killed,
               restarted: restarted,
               supervisor_crashed: false,
               duration_ms: duration_ms,
               seed: seed,
               plan: plan,
               timeline: timeline
             } = report

      assert is_integer(killed) and killed >= 1
      assert restarted == killed
      assert is_integer(duration_ms) and duration_ms >= 0
      assert seed == ex_unit_seed()
      assert is_binary(plan)
      assert String.starts_with?(plan, "st1;seed=#{seed};")

      assert Enum.count(timeline, &(&1.event == :killed)) == killed
      assert Enum.count(timeline, &(&1.event == :restarted)) == restarted
      refute Enum.any?(timeline, &(&1.event == :supervisor_down))

      for entry <- timeline do
        assert is_integer(entry.at_ms) and entry.at_ms >= 0
        assert entry.event in [:planned, :killed, :skipped, :restarted]
        assert entry.child in [:w1, :w2, :w3]
      end

      at = Enum.map(timeline, & &1.at_ms)
      assert at == Enum.sort(at)

      # The first kill hits a child as it was before the run.
      [%{child: id, pid: pid} | _] = for %{event: :killed} = e <- timeline, do: e
      assert before[id] == pid
      refute Process.alive?(pid)
    end

    test "without :seed, ExUnit's seed: two calls make the same plan" do
      sup = start_tree([:w1, :w2, :w3], max_restarts: 100)

      first = chaos_kill_children(sup, kill_rate: 0.5, duration_ms: 200, kill_interval_ms: 50)
      second = chaos_kill_children(sup, kill_rate: 0.5, duration_ms: 200, kill_interval_ms: 50)

      assert first.seed == ex_unit_seed()
      assert second.seed == ex_unit_seed()
      assert first.plan == second.plan
      assert String.starts_with?(first.plan, "st1;seed=#{ex_unit_seed()};")
    end

    test "an explicit seed: option goes into the plan" do
      sup = start_tree([:w1, :w2, :w3], max_restarts: 100)
      seed = 424_242

      report = chaos_kill_children(sup, seed: seed, kill_rate: 0.5, duration_ms: 100, kill_interval_ms: 50)

      assert report.seed == seed
      assert String.starts_with?(report.plan, "st1;seed=424242;")

      zero = chaos_kill_children(sup, seed: 0, kill_rate: 0.5, duration_ms: 0)
      assert zero.seed == 0
      assert String.starts_with?(zero.plan, "st1;seed=0;")
    end

    test "same seed, same tree: the same victims in the same order" do
      ids = [:w1, :w2, :w3, :w4]
      # A kill interval well above a restart's time: a child killed at one
      # tick is back at the next.
      opts = [kill_rate: 0.5, duration_ms: 500, kill_interval_ms: 100]

      for seed <- [ex_unit_seed(), 7, 123_456] do
        a = start_tree(ids, max_restarts: 100)
        b = start_tree(ids, max_restarts: 100)

        report_a = chaos_kill_children(a, [seed: seed] ++ opts)
        report_b = chaos_kill_children(b, [seed: seed] ++ opts)

        assert report_a.plan == report_b.plan
        assert victims(report_a) != []
        assert victims(report_a) == victims(report_b)
        assert report_a.killed == report_b.killed
        assert report_a.supervisor_crashed == false and report_b.supervisor_crashed == false
      end
    end

    test "jitter_pct: the same seed still makes the same plan" do
      a = start_tree([:w1, :w2, :w3], max_restarts: 100)
      b = start_tree([:w1, :w2, :w3], max_restarts: 100)
      opts = [kill_rate: 0.5, duration_ms: 200, kill_interval_ms: 50, jitter_pct: 20]

      report_a = chaos_kill_children(a, opts)
      report_b = chaos_kill_children(b, opts)

      assert report_a.plan =~ ";jit=20;"
      assert report_a.plan == report_b.plan
      assert report_a.supervisor_crashed == false and report_b.supervisor_crashed == false
    end

    test "different seeds make different plans" do
      sup = start_tree([:w1, :w2, :w3], max_restarts: 100)

      plans =
        for seed <- 1..8 do
          chaos_kill_children(sup, seed: seed, kill_rate: 1.0, duration_ms: 0).plan
        end

      assert length(Enum.uniq(plans)) > 1
      assert all_children_alive?(sup)
    end

    test "one_for_one: only the victims are restarted" do
      ids = [:a, :b, :c, :d]
      sup = start_tree(ids, strategy: :one_for_one, max_restarts: 100)
      before = pids(sup)

      report = chaos_kill_children(sup, kill_rate: 0.5, duration_ms: 200, kill_interval_ms: 50)

      assert report.supervisor_crashed == false
      assert report.killed >= 1
      assert report.restarted == report.killed
      now = pids(sup)
      hit = victims(report)

      for id <- ids do
        assert is_pid(now[id]) and Process.alive?(now[id])
        if id in hit, do: assert(now[id] != before[id]), else: assert(now[id] == before[id])
      end
    end

    test "one_for_all: every child is restarted" do
      ids = [:a, :b, :c, :d]
      sup = start_tree(ids, strategy: :one_for_all, max_restarts: 100)
      before = pids(sup)

      report = chaos_kill_children(sup, kill_rate: 0.5, duration_ms: 200, kill_interval_ms: 50)

      assert report.supervisor_crashed == false
      assert Process.alive?(sup)
      assert report.killed >= 1
      assert report.restarted == report.killed
      now = pids(sup)

      for id <- ids do
        assert is_pid(now[id]) and Process.alive?(now[id])
        assert now[id] != before[id]
      end
    end

    test "rest_for_one: the first victim and the children after it are restarted" do
      ids = [:a, :b, :c, :d]
      sup = start_tree(ids, strategy: :rest_for_one, max_restarts: 100)
      before = pids(sup)

      report = chaos_kill_children(sup, kill_rate: 0.5, duration_ms: 200, kill_interval_ms: 50)

      assert report.supervisor_crashed == false
      assert report.killed >= 1
      assert report.restarted == report.killed
      now = pids(sup)

      first = report |> victims() |> Enum.map(fn id -> Enum.find_index(ids, &(&1 == id)) end) |> Enum.min()
      {untouched, restarted} = Enum.split(ids, first)

      for id <- untouched, do: assert(now[id] == before[id])

      for id <- restarted do
        assert is_pid(now[id]) and Process.alive?(now[id])
        assert now[id] != before[id]
      end
    end

    @tag :capture_log
    test "restart intensity exceeded: supervisor_crashed is true, nothing hangs" do
      sup = start_tree([:w1, :w2, :w3], max_restarts: 1, restart: :temporary)
      ref = Process.monitor(sup)

      report = chaos_kill_children(sup, kill_rate: 1.0, duration_ms: 300, kill_interval_ms: 20)

      assert report.supervisor_crashed == true
      assert report.killed >= 2
      assert List.last(report.timeline).event == :supervisor_down
      assert_receive {:DOWN, ^ref, :process, ^sup, :shutdown}
      refute Process.alive?(sup)
    end

    @tag :capture_log
    test "restart intensity exceeded under a spawned owner, with one_for_all" do
      test = self()

      {owner, owner_ref} =
        spawn_monitor(fn ->
          children = for id <- [:w1, :w2], do: Supervisor.child_spec({Worker, []}, id: id)
          {:ok, sup} = Sup.start_link(strategy: :one_for_all, max_restarts: 1, children: children)
          Process.unlink(sup)
          send(test, {:sup, sup})
          receive do: (:done -> :ok)
        end)

      assert_receive {:sup, sup}
      ref = Process.monitor(sup)

      report = chaos_kill_children(sup, kill_rate: 1.0, duration_ms: 200, kill_interval_ms: 10)

      assert report.supervisor_crashed
      assert_receive {:DOWN, ^ref, :process, ^sup, _}
      send(owner, :done)
      assert_receive {:DOWN, ^owner_ref, :process, ^owner, :normal}
    end

    @tag :capture_log
    test "respect_intensity: true keeps a fragile supervisor alive" do
      sup = start_tree([:w1, :w2, :w3], max_restarts: 1, restart: :temporary)

      report = chaos_kill_children(sup, kill_rate: 1.0, duration_ms: 200, kill_interval_ms: 20, respect_intensity: true)

      assert report.supervisor_crashed == false
      assert Process.alive?(sup)
      assert report.killed == 1
      assert report.restarted == 1
      assert Enum.any?(report.timeline, &match?(%{event: :skipped, why: :restart_intensity}, &1))
      assert all_children_alive?(sup)
    end

    test "max_kills caps the kills" do
      sup = start_tree([:w1, :w2, :w3], max_restarts: 100)

      report = chaos_kill_children(sup, kill_rate: 1.0, duration_ms: 500, kill_interval_ms: 20, max_kills: 3)

      assert report.plan =~ ";max=3;"
      # Every tick kills (rate 1.0); the plan stops at the third. (A kill
      # whose child is still restarting is skipped, not retried.)
      assert Enum.count(report.timeline, &(&1.event == :planned)) == 3
      skipped = Enum.count(report.timeline, &(&1.event == :skipped))
      assert report.killed >= 1 and report.killed + skipped == 3
      assert report.supervisor_crashed == false
    end

    test "kill_reason is the exit reason the victims see" do
      sup = start_tree([:w1, :w2, :w3], max_restarts: 100)
      refs = for {_id, pid} <- pids(sup), into: %{}, do: {pid, Process.monitor(pid)}

      report = chaos_kill_children(sup, kill_rate: 1.0, duration_ms: 0, kill_reason: :chaos_kill)

      assert [%{event: :killed, pid: pid}] = Enum.filter(report.timeline, &(&1.event == :killed))
      ref = Map.fetch!(refs, pid)
      assert_receive {:DOWN, ^ref, :process, ^pid, :chaos_kill}
    end

    test "a registered supervisor name works" do
      name = unique(:sup)
      start_tree([:w1, :w2], name: name, max_restarts: 100)

      report = chaos_kill_children(name, kill_rate: 0.5, duration_ms: 100, kill_interval_ms: 50)

      assert report.supervisor_crashed == false
      assert report.killed >= 1
      assert all_children_alive?(Process.whereis(name))
    end
  end

  describe "assert_chaos_resilient/4" do
    # Regression: the recovery watch used to take the supervisor's only
    # tracer before the chaos ran, so the chaos report lost its restarts.
    test "the chaos report inside it still sees the restarts" do
      supervisor = start_tree([:w1, :w2, :w3], max_restarts: 100)
      me = self()

      assert :ok =
               assert_chaos_resilient(
                 supervisor,
                 fn ->
                   report = chaos_kill_children(supervisor, seed: 3, duration_ms: 0)
                   send(me, {:report, report})
                   report
                 end,
                 fn -> true end
               )

      assert_received {:report, %{killed: 1, restarted: 1}}
    end

    test "options may be a map" do
      supervisor = start_tree([:w1, :w2], max_restarts: 100)
      assert %{killed: 1, seed: 5} = chaos_kill_children(supervisor, %{seed: 5, duration_ms: 0})
    end
    test "the tree recovers from the chaos" do
      sup = start_tree([:w1, :w2, :w3], max_restarts: 100)
      test = self()

      assert :ok ==
               assert_chaos_resilient(
                 sup,
                 fn ->
                   report = chaos_kill_children(sup, kill_rate: 0.5, duration_ms: 200)
                   send(test, {:report, report})
                   report
                 end,
                 fn -> all_children_alive?(sup) end,
                 timeout: 2000
               )

      assert_received {:report, report}
      assert report.killed >= 1
      assert report.supervisor_crashed == false
      assert all_children_alive?(sup)
    end

    test "a system that is not a supervisor" do
      name = unique(:server)
      sup = start_tree([], max_restarts: 100)
      {:ok, original} = Supervisor.start_child(sup, Supervisor.child_spec({Worker, [name: name]}, id: name))

      assert :ok ==
               assert_chaos_resilient(
                 original,
                 fn -> inject_crash(original, :immediate) end,
                 fn ->
                   pid = Process.whereis(name)
                   is_pid(pid) and pid != original
                 end,
                 timeout: 2000
               )

      assert Worker.get(name) == 0
    end

    test "no recovery: AssertionError with the chaos seed" do
      sup = start_tree([:w1, :w2, :w3], max_restarts: 100)
      seed = ex_unit_seed()

      error =
        assert_raise ExUnit.AssertionError, fn ->
          assert_chaos_resilient(
            sup,
            fn -> chaos_kill_children(sup, kill_rate: 0.5, duration_ms: 0) end,
            fn -> false end,
            timeout: 100
          )
        end

      assert error.message =~ "chaos seed"
      assert error.message =~ "chaos seed: #{seed}"
      assert error.message =~ "--seed #{seed}"
    end

    test "no recovery with an explicit seed prints that seed" do
      sup = start_tree([:w1, :w2], max_restarts: 100)

      assert_raise ExUnit.AssertionError, ~r/chaos seed: 31337/, fn ->
        assert_chaos_resilient(
          sup,
          fn -> chaos_kill_children(sup, seed: 31_337, kill_rate: 0.5, duration_ms: 0) end,
          fn -> false end,
          timeout: 100
        )
      end
    end

    test "chaos that returns no report: the failure has no seed" do
      sup = start_tree([:w1], max_restarts: 100)

      error =
        assert_raise ExUnit.AssertionError, ~r/did not recover within 100 ms/, fn ->
          assert_chaos_resilient(sup, fn -> :no_report end, fn -> false end, timeout: 100)
        end

      refute error.message =~ "chaos seed"
    end

    test "what the chaos function raises propagates" do
      sup = start_tree([:w1], max_restarts: 100)

      assert_raise RuntimeError, "chaos went wrong", fn ->
        assert_chaos_resilient(sup, fn -> raise "chaos went wrong" end, fn -> true end)
      end
    end
  end

  describe "run_chaos_suite/3" do
    test "the reference's example: every scenario passes" do
      supervisor = start_tree([:w1, :w2, :w3], max_restarts: 100)

      scenarios = [
        %{type: :kill_children, kill_rate: 0.3, duration_ms: 200},
        %{type: :kill_children, kill_rate: 0.5, duration_ms: 200}
      ]

      report = run_chaos_suite(supervisor, scenarios, timeout: 5000)

      assert report.passed == report.total_scenarios
      assert report.failed == 0
      assert report.total_scenarios == 2
      assert report.failures == []
      assert is_integer(report.duration_ms)

      assert [%{status: :passed, scenario: s1, report: r1}, %{status: :passed, scenario: s2, report: r2}] =
               report.results

      assert s1 == Enum.at(scenarios, 0) and s2 == Enum.at(scenarios, 1)
      # Scenarios without a seed use ExUnit's.
      assert r1.seed == ex_unit_seed() and r2.seed == ex_unit_seed()
      assert r1.killed >= 1 and r2.killed >= 1
      assert all_children_alive?(supervisor)
    end

    test "a scenario's own seed, and the suite's seed: option" do
      sup = start_tree([:w1, :w2], max_restarts: 100)

      report =
        run_chaos_suite(
          sup,
          [%{type: :kill_children, kill_rate: 0.5, duration_ms: 0, seed: 5}, %{type: :kill_children, duration_ms: 0}],
          seed: 9
        )

      assert report.passed == 2
      assert [%{report: %{seed: 5}}, %{report: %{seed: 9}}] = report.results
    end

    test "an inject_crash scenario" do
      sup = start_tree([:w1, :w2], max_restarts: 100)
      before = pids(sup)

      report = run_chaos_suite(sup, [%{type: :inject_crash, child: :w2, spec: :immediate}])

      assert %{total_scenarios: 1, passed: 1, failed: 0} = report
      assert [%{status: :passed, report: %{child: :w2, pid: old}}] = report.results
      assert old == before[:w2]
      now = pids(sup)
      assert now[:w1] == before[:w1]
      assert now[:w2] != before[:w2] and Process.alive?(now[:w2])
    end

    test "an unknown type fails its scenario only" do
      sup = start_tree([:w1, :w2], max_restarts: 100)
      bogus = %{type: :teleport}

      report = run_chaos_suite(sup, [%{type: :kill_children, kill_rate: 0.3, duration_ms: 100}, bogus], timeout: 5000)

      assert report.total_scenarios == 2
      assert report.passed == 1
      assert report.failed == 1
      assert [%{scenario: ^bogus, reason: reason}] = report.failures
      assert reason == {:unknown_scenario_type, :teleport}
    end

    test "scenarios without a type or with a child that does not exist fail" do
      sup = start_tree([:w1], max_restarts: 100)

      report = run_chaos_suite(sup, [%{kill_rate: 0.3}, %{type: :inject_crash, child: :nobody}])

      assert report.failed == 2
      assert report.passed == 0

      assert [
               %{scenario: %{kill_rate: 0.3}, reason: {:bad_scenario, :missing_type}},
               %{reason: {:no_running_child, :nobody}}
             ] = report.failures
    end

    @tag :capture_log
    test "a supervisor that dies fails the scenario, and the suite returns" do
      sup = start_tree([:w1, :w2], max_restarts: 1, restart: :temporary)
      ref = Process.monitor(sup)

      report =
        run_chaos_suite(sup, [
          %{type: :kill_children, kill_rate: 1.0, duration_ms: 200, kill_interval_ms: 10},
          %{type: :kill_children, kill_rate: 0.5, duration_ms: 100}
        ])

      assert report.total_scenarios == 2
      assert report.failed == 2
      assert [%{reason: :supervisor_crashed}, %{reason: _}] = report.failures
      assert_receive {:DOWN, ^ref, :process, ^sup, _}
    end
  end

  describe "bad arguments raise ArgumentError" do
    test "chaos_kill_children options, checked before anything is killed" do
      sup = start_tree([:w1, :w2], max_restarts: 100)
      before = pids(sup)

      assert_raise ArgumentError, ~r/kill_rate/, fn -> chaos_kill_children(sup, kill_rate: 2) end
      assert_raise ArgumentError, ~r/kill_rate/, fn -> chaos_kill_children(sup, kill_rate: -0.1) end
      assert_raise ArgumentError, ~r/bogus/, fn -> chaos_kill_children(sup, bogus: 1) end
      assert_raise ArgumentError, ~r/seed/, fn -> chaos_kill_children(sup, seed: -1) end
      assert_raise ArgumentError, ~r/seed/, fn -> chaos_kill_children(sup, seed: "42") end
      assert_raise ArgumentError, ~r/duration_ms/, fn -> chaos_kill_children(sup, duration_ms: -5) end
      assert_raise ArgumentError, ~r/kill_interval_ms/, fn -> chaos_kill_children(sup, kill_interval_ms: 0) end
      assert_raise ArgumentError, ~r/jitter_pct/, fn -> chaos_kill_children(sup, jitter_pct: 101) end
      assert_raise ArgumentError, ~r/max_kills/, fn -> chaos_kill_children(sup, max_kills: 0) end
      assert_raise ArgumentError, ~r/respect_intensity/, fn -> chaos_kill_children(sup, respect_intensity: :yes) end

      assert pids(sup) == before
    end

    test "chaos_kill_children on a supervisor without children, a dead one, or nobody" do
      empty = start_tree([])
      assert_raise ArgumentError, fn -> chaos_kill_children(empty, duration_ms: 0) end

      {pid, ref} = spawn_monitor(fn -> :ok end)
      assert_receive {:DOWN, ^ref, :process, ^pid, _}
      assert_raise ArgumentError, fn -> chaos_kill_children(pid, duration_ms: 0) end
      assert_raise ArgumentError, fn -> chaos_kill_children(unique(:nobody), duration_ms: 0) end
    end

    test "inject_crash: bad crash specs and options leave the target alone" do
      worker = temporary_worker()

      assert_raise ArgumentError, ~r/crash_spec/, fn -> inject_crash(worker, :bad) end
      assert_raise ArgumentError, ~r/crash_spec/, fn -> inject_crash(worker, {:random, 2}) end
      assert_raise ArgumentError, ~r/crash_spec/, fn -> inject_crash(worker, {:random, -0.5}) end
      assert_raise ArgumentError, ~r/crash_spec/, fn -> inject_crash(worker, {:after_ms, -1}) end
      assert_raise ArgumentError, ~r/crash_spec/, fn -> inject_crash(worker, {:after_ms, :soon}) end
      assert_raise ArgumentError, ~r/bogus/, fn -> inject_crash(worker, :immediate, bogus: 1) end
      assert_raise ArgumentError, ~r/seed/, fn -> inject_crash(worker, {:random, 0.5}, seed: :abc) end

      assert Process.alive?(worker)
    end

    test "inject_crash: a name with nothing registered" do
      assert_raise ArgumentError, ~r/registered/, fn -> inject_crash(unique(:nobody), :immediate) end
    end

    test "inject_crash: the VM's own processes are refused" do
      # {:random, 0.0} never crashes, so a broken guard harms nothing.
      for name <- [:kernel_sup, :application_controller, :code_server] do
        pid = Process.whereis(name)
        assert_raise ArgumentError, ~r/allow_system/, fn -> inject_crash(pid, {:random, 0.0}) end
        assert Process.alive?(pid)
      end
    end

    test "assert_chaos_resilient and run_chaos_suite arguments" do
      sup = start_tree([:w1], max_restarts: 100)

      assert_raise ArgumentError, ~r/chaos_fn/, fn -> assert_chaos_resilient(sup, :nope, fn -> true end) end

      assert_raise ArgumentError, ~r/recovery_fn/, fn ->
        assert_chaos_resilient(sup, fn -> :ok end, fn _ -> true end)
      end

      assert_raise ArgumentError, ~r/timeout/, fn ->
        assert_chaos_resilient(sup, fn -> :ok end, fn -> true end, timeout: -1)
      end

      assert_raise ArgumentError, ~r/bogus/, fn ->
        assert_chaos_resilient(sup, fn -> :ok end, fn -> true end, bogus: 1)
      end

      assert_raise ArgumentError, ~r/scenarios/, fn -> run_chaos_suite(sup, :nope) end
      assert_raise ArgumentError, ~r/bogus/, fn -> run_chaos_suite(sup, [], bogus: 1) end
      assert_raise ArgumentError, ~r/timeout/, fn -> run_chaos_suite(sup, [], timeout: :soon) end
    end
  end
end

defmodule Supertester.ChaosHelpersResourceTest do
  # Process and ETS table counts are VM-wide: these tests run alone.
  use ExUnit.Case, async: false
  import Supertester.ChaosHelpers

  alias Supertester.Test.Crash.{Sup, Worker}

  defp process_count, do: :erlang.system_info(:process_count)

  # The processes simulate_resource_exhaustion runs (its holder and what it
  # spawns), among `pids`: in its code, or spawned and not yet scheduled.
  defp chaos_processes(pids) do
    Enum.filter(pids, fn pid ->
      case Process.info(pid, :current_function) do
        {:current_function, {:supertester_chaos, _, _}} -> true
        {:current_function, {:erlang, :apply, 2}} -> true
        _ -> false
      end
    end)
  end

  # The tables simulate_resource_exhaustion holds. (The VM's ets_count is
  # decremented after an owner's tables are gone, not when: the tables
  # themselves are what the tests check.)
  defp exhaustion_tables do
    Enum.filter(:ets.all(), &(:ets.info(&1, :name) == :supertester_exhaustion))
  end

  defp gone?(table), do: :ets.info(table) == :undefined

  describe "simulate_resource_exhaustion/2" do
    test ":process_limit with spawn_count: 1000, then cleanup" do
      before = process_count()
      before_pids = Process.list()

      assert {:ok, cleanup} = simulate_resource_exhaustion(:process_limit, spawn_count: 1000)
      assert is_function(cleanup, 0)
      assert process_count() - before >= 1000
      # 1000 idle processes and their holder.
      taken = chaos_processes(Process.list() -- before_pids)
      assert length(taken) == 1001

      assert cleanup.() == :ok
      refute Enum.any?(taken, &Process.alive?/1)
      # Back: no more processes than before (an unrelated one ending
      # meanwhile could only lower the count).
      assert process_count() <= before
    end

    test "the reference's example: spawn_count wins over percentage" do
      before = process_count()
      before_pids = Process.list()

      {:ok, cleanup} = simulate_resource_exhaustion(:process_limit, percentage: 0.05, spawn_count: 100)

      taken = chaos_processes(Process.list() -- before_pids)
      assert length(taken) == 101

      cleanup.()
      refute Enum.any?(taken, &Process.alive?/1)
      assert process_count() <= before
    end

    test ":process_limit with a percentage of the free slots" do
      before_pids = Process.list()
      expected = trunc((:erlang.system_info(:process_limit) - process_count()) * 0.001)

      {:ok, cleanup} = simulate_resource_exhaustion(:process_limit, percentage: 0.001)

      taken = chaos_processes(Process.list() -- before_pids)
      assert abs(length(taken) - 1 - expected) <= 1

      assert cleanup.() == :ok
      refute Enum.any?(taken, &Process.alive?/1)
    end

    test ":ets_tables with count: 50, then cleanup" do
      assert exhaustion_tables() == []
      before = :erlang.system_info(:ets_count)

      assert {:ok, cleanup} = simulate_resource_exhaustion(:ets_tables, count: 50)
      tables = exhaustion_tables()
      assert length(tables) == 50
      assert :erlang.system_info(:ets_count) - before >= 50

      assert cleanup.() == :ok
      assert Enum.all?(tables, &gone?/1)
      assert exhaustion_tables() == []
    end

    test ":ets_tables are given back when the caller exits without cleanup" do
      test = self()

      caller =
        spawn_link(fn ->
          {:ok, _cleanup} = simulate_resource_exhaustion(:ets_tables, count: 5)
          send(test, :held)
          receive do: (:exit -> :ok)
        end)

      assert_receive :held
      tables = exhaustion_tables()
      assert length(tables) == 5

      # The holder owns the tables.
      [holder] = tables |> Enum.map(&:ets.info(&1, :owner)) |> Enum.uniq()
      assert holder != caller

      ref = Process.monitor(holder)
      send(caller, :exit)
      assert_receive {:DOWN, ^ref, :process, ^holder, _}
      assert Enum.all?(tables, &gone?/1)
    end

    test ":memory with count: binaries of 1 MB" do
      before = :erlang.memory(:binary)

      assert {:ok, cleanup} = simulate_resource_exhaustion(:memory, count: 8)
      assert :erlang.memory(:binary) - before >= 4 * 1_048_576

      assert cleanup.() == :ok
    end

    test "an unknown resource" do
      assert simulate_resource_exhaustion(:foo) == {:error, {:unknown_resource, :foo}}
      assert simulate_resource_exhaustion(:foo, count: 1) == {:error, {:unknown_resource, :foo}}
    end

    test "bad options raise ArgumentError" do
      assert_raise ArgumentError, ~r/bogus/, fn -> simulate_resource_exhaustion(:ets_tables, bogus: 1) end
      assert_raise ArgumentError, ~r/count/, fn -> simulate_resource_exhaustion(:ets_tables, count: -1) end

      assert_raise ArgumentError, ~r/percentage/, fn ->
        simulate_resource_exhaustion(:process_limit, percentage: 1.5)
      end

      assert exhaustion_tables() == []
    end
  end

  describe "run_chaos_suite/3 with resource exhaustion" do
    test "a resource_exhaustion scenario passes and gives its resources back" do
      children = for id <- [:w1, :w2], do: Supervisor.child_spec({Worker, []}, id: id)
      sup = start_supervised!({Sup, children: children, max_restarts: 100})

      report =
        run_chaos_suite(sup, [
          %{type: :resource_exhaustion, resource: :ets_tables, count: 20},
          %{type: :resource_exhaustion, resource: :bogus}
        ])

      assert report.total_scenarios == 2
      assert report.passed == 1
      assert [%{status: :passed, report: %{resource: :ets_tables}} | _] = report.results
      assert [%{scenario: %{resource: :bogus}, reason: {:unknown_resource, :bogus}}] = report.failures
      assert exhaustion_tables() == []
    end
  end
end
