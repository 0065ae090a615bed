defmodule Supertester.Test.CapturingEnv do
  @moduledoc false
  # A Supertester.Env that hands the cleanup to the test instead of ExUnit,
  # so a test can run it and look at what it does.
  @behaviour Supertester.Env

  @impl true
  def on_exit(fun) do
    send(self(), {:supertester_on_exit, fun})
    :ok
  end
end

defmodule Supertester.Test.LogForwarder do
  @moduledoc false
  # A :logger handler that sends each event to a process, without starting
  # one itself (capture_log's process would count as a leak).
  def log(event, %{config: %{to: pid}}), do: send(pid, {:logged, event})
end

defmodule Supertester.FoundationTest do
  # Synchronous: it swaps the :env_module, counts every process of the VM
  # and takes contamination snapshots, none of which tolerate other tests
  # running meanwhile.
  use ExUnit.Case, async: false

  alias Supertester.{IsolationContext, OTPHelpers, UnifiedTestFoundation}
  alias Supertester.Test.{CapturingEnv, Counter, Tree}

  setup do
    Application.put_env(:supertester, :env_module, CapturingEnv)
    on_exit(fn -> Application.delete_env(:supertester, :env_module) end)
  end

  # The cleanup setup_isolation registered through the capturing Env.
  defp registered_cleanup do
    assert_received {:supertester_on_exit, cleanup}
    cleanup
  end

  describe "cleanup" do
    test "leaves no process behind, whatever the test started (counted)" do
      before = length(Process.list())
      {:ok, %{isolation_context: ctx}} = UnifiedTestFoundation.setup_isolation(:full_isolation, %{})

      for n <- 1..5, do: {:ok, _} = OTPHelpers.setup_isolated_genserver(Counter, "count", init_args: n)
      {:ok, _} = OTPHelpers.setup_isolated_supervisor(Tree, "count", init_args: :one_for_all)
      {:ok, plain} = Counter.start_link(0)
      Process.unlink(plain)
      UnifiedTestFoundation.add_tracked_process(ctx, %{pid: plain, name: nil, module: Counter})

      # 5 servers, a supervisor with 3 children, a plain process, the
      # per-test Registry (a supervisor and its partition).
      assert length(Process.list()) >= before + 5 + 4 + 1 + 2
      registered_cleanup().()
      assert length(Process.list()) == before
    end

    test "runs cleanup callbacks and deletes tracked tables, newest first" do
      me = self()
      {:ok, %{isolation_context: ctx}} = UnifiedTestFoundation.setup_isolation(:basic, %{})
      table = :ets.new(:tracked, [:public])
      ctx = UnifiedTestFoundation.add_tracked_ets_table(ctx, table)
      ctx = UnifiedTestFoundation.add_cleanup_callback(ctx, fn -> send(me, {:cleanup, 1, :ets.info(table, :size)}) end)
      _ = UnifiedTestFoundation.add_cleanup_callback(ctx, fn -> send(me, {:cleanup, 2}) end)
      OTPHelpers.cleanup_on_exit(fn -> send(me, {:cleanup, 3}) end)

      registered_cleanup().()
      # LIFO: 3, 2, then 1 while the table still exists, then the table.
      order =
        for _ <- 1..3 do
          receive do
            {:cleanup, n} -> n
            {:cleanup, n, size} -> {n, size}
          end
        end

      assert order == [3, 2, {1, 0}]
      assert :ets.info(table) == :undefined
    end

    test "a server that died during the test is simply not there to stop" do
      {:ok, _} = UnifiedTestFoundation.setup_isolation(:basic, %{})
      {:ok, pid} = OTPHelpers.setup_isolated_genserver(Counter)
      ref = Process.monitor(pid)
      Process.exit(pid, :kill)
      assert_receive {:DOWN, ^ref, :process, ^pid, :killed}
      assert :supertester_isolation.tracked(:supertester_isolation.current()) == []
      registered_cleanup().()
    end
  end

  describe "contamination detection" do
    test "reports a leaked process with pid, initial call and name, and a leaked table" do
      {:ok, %{isolation_context: ctx}} =
        UnifiedTestFoundation.setup_isolation(:contamination_detection, %{test: :leaky}, contamination: :fail)

      assert ctx.initial_processes != []
      name = :"leaked_#{System.unique_integer([:positive])}"
      {:ok, leaked} = GenServer.start(Counter, 0, name: name)
      table = :ets.new(:leaked_table, [:public, :named_table])
      # Started through Supertester: cleaned up, not a leak.
      {:ok, tracked} = OTPHelpers.setup_isolated_genserver(Counter)
      refute UnifiedTestFoundation.verify_test_isolation(%{isolation_context: ctx})

      error = assert_raise ExUnit.AssertionError, registered_cleanup()
      assert error.message =~ "1 process(es), 1 ETS table(s) and 1 registered name(s)"
      assert error.message =~ "process #{:erlang.pid_to_list(leaked)}"
      assert error.message =~ "initial call Elixir.Supertester.Test.Counter:init/1"
      assert error.message =~ "registered as #{name}"
      assert error.message =~ "leaked_table"
      refute error.message =~ List.to_string(:erlang.pid_to_list(tracked))
      # Reported, then removed so later tests start clean.
      refute Process.alive?(leaked)
      assert :ets.info(table) == :undefined
    end

    # The warning is expected: keep it off the console.
    @tag :capture_log
    test "warns by default, as 0.5.1 did" do
      {:ok, _} = UnifiedTestFoundation.setup_isolation(:contamination_detection, %{test: :warned})
      {:ok, leaked} = GenServer.start(Counter, 0)
      :ok = :logger.add_handler(:supertester_test, Supertester.Test.LogForwarder, %{config: %{to: self()}})
      registered_cleanup().()
      :ok = :logger.remove_handler(:supertester_test)

      assert_received {:logged, %{level: :warning, msg: msg}}
      text = IO.iodata_to_binary(:logger_formatter.format(%{level: :warning, msg: msg, meta: %{}}, %{}))
      assert text =~ "Test contamination"
      assert text =~ List.to_string(:erlang.pid_to_list(leaked))
    end

    test "a clean test reports nothing" do
      {:ok, %{isolation_context: ctx}} =
        UnifiedTestFoundation.setup_isolation(:contamination_detection, %{}, contamination: :fail)

      {:ok, _} = OTPHelpers.setup_isolated_supervisor(Tree, "", init_args: :rest_for_one)
      assert UnifiedTestFoundation.verify_test_isolation(%{isolation_context: ctx})
      assert registered_cleanup().() == :ok
    end
  end

  describe "the isolation context" do
    test "fields, registry and tags" do
      {:ok, %{isolation_context: ctx}} =
        UnifiedTestFoundation.setup_isolation(:registry, %{module: __MODULE__, test: :fields})

      assert %IsolationContext{test_id: id, registry: registry, tags: tags} = ctx
      assert is_integer(id) and id > 0
      assert Atom.to_string(registry) =~ ~r/^supertester_registry#\d+$/
      assert %{isolation: :registry, module: __MODULE__, test: :fields} = tags
      assert UnifiedTestFoundation.fetch_isolation_context() == ctx
      assert IsolationContext.get_ets_table(ctx, :none) == nil
      assert IsolationContext.telemetry_handlers(ctx) == []
      refute IsolationContext.logger_isolated?(ctx)
      registered_cleanup().()
      refute Process.whereis(registry)
    end

    test "modes: async, timeouts, unknown modes" do
      assert UnifiedTestFoundation.isolation_allows_async?(:full_isolation)
      refute UnifiedTestFoundation.isolation_allows_async?(:contamination_detection)
      assert UnifiedTestFoundation.isolation_timeout(:basic) == 5_000
      assert UnifiedTestFoundation.isolation_timeout(:contamination_detection) == 30_000

      assert_raise ArgumentError, ~r/unknown isolation mode :everything/, fn ->
        UnifiedTestFoundation.setup_isolation(:everything, %{})
      end
    end

    test "wait_for_supervision_tree_ready" do
      {:ok, _} = UnifiedTestFoundation.setup_isolation(:basic, %{})
      {:ok, sup} = OTPHelpers.setup_isolated_supervisor(Tree, "", init_args: :one_for_one)
      assert {:ok, ^sup} = UnifiedTestFoundation.wait_for_supervision_tree_ready(sup)
      registered_cleanup().()
    end
  end

  describe "Supertester.Env" do
    test "the configured module receives the cleanup" do
      Supertester.Env.on_exit(fn -> :configured end)
      assert_received {:supertester_on_exit, fun}
      assert fun.() == :configured

      assert_raise ArgumentError, ~r/arity 0/, fn -> Supertester.Env.on_exit(:not_a_fun) end
    end
  end
end
