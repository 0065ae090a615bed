defmodule Supertester.GenServerHelpersTest do
  use Supertester.ExUnitFoundation, isolation: :full_isolation

  import Supertester.OTPHelpers
  import Supertester.GenServerHelpers

  alias Supertester.Test.{Counter, Tree}

  # A server with the sync handler written by hand, so these tests do not
  # depend on TestableGenServer (tested on its own).
  defmodule Synced do
    use GenServer
    def init(n), do: {:ok, n}
    def handle_cast(:increment, n), do: {:noreply, n + 1}
    def handle_call(:__supertester_sync__, _from, n), do: {:reply, :ok, n}
    def handle_call({:__supertester_sync__, return_state: true}, _from, n), do: {:reply, {:ok, n}, n}
    def handle_call(:get, _from, n), do: {:reply, n, n}
    def __supertester_testable__, do: true
  end

  describe "get_server_state_safely/1 and call_with_timeout/3" do
    test "state of a live server, error for a dead one" do
      {:ok, pid} = setup_isolated_genserver(Counter, "", init_args: 3)
      assert {:ok, %{count: 3}} = get_server_state_safely(pid)
      GenServer.stop(pid)
      assert {:error, :noproc} = get_server_state_safely(pid)
      assert {:error, :noproc} = call_with_timeout(pid, :get)
    end

    test "names: atom, {:global, _} and {:via, Registry, _}", %{isolation_context: ctx} do
      {:ok, pid} = setup_isolated_genserver(Counter)
      {:registered_name, name} = Process.info(pid, :registered_name)
      global = {:global, {__MODULE__, make_ref()}}
      :yes = :global.register_name(elem(global, 1), pid)
      via = {:via, Registry, {ctx.registry, :counter}}
      {:ok, _} = setup_isolated_genserver(Counter, "", name: via)

      for server <- [name, global, via], do: assert(:ok = cast_and_sync(server, :increment))

      # name and global are the same server; via is another.
      assert {:ok, 2} = call_with_timeout(name, :get)
      assert {:ok, 2} = call_with_timeout(global, :get)
      assert {:ok, 1} = call_with_timeout(via, :get)
    end

    test "a timeout that is not a non-negative integer is refused" do
      {:ok, pid} = setup_isolated_genserver(Counter)

      for bad <- [-1, 1.5, :soon] do
        assert_raise ArgumentError, ~r/non-negative integer/, fn -> call_with_timeout(pid, :get, bad) end
      end
    end
  end

  describe "cast_and_sync/4" do
    test "with a sync handler the cast is processed before it returns" do
      {:ok, pid} = setup_isolated_genserver(Synced, "", init_args: 0)
      for _ <- 1..100, do: GenServer.cast(pid, :increment)
      assert :ok = cast_and_sync(pid, :increment)
      assert GenServer.call(pid, :get) == 101
      assert {:ok, 102} = cast_and_sync(pid, :increment, {:__supertester_sync__, return_state: true})
    end

    test "without one, it synchronises through sys and leaves the server alive" do
      {:ok, pid} = setup_isolated_genserver(Counter)
      assert :ok = cast_and_sync(pid, :increment)
      assert GenServer.call(pid, :get) == 1
      assert Process.alive?(pid)
    end

    test "strict? raises when the catch-all handle_call answers an error" do
      {:ok, pid} = setup_isolated_genserver(Counter)

      error =
        assert_raise ArgumentError, fn ->
          cast_and_sync(pid, :increment, :__supertester_sync__, strict?: true)
        end

      assert error.message =~ "__supertester_sync__"
      assert error.message =~ "unknown_call"
    end

    test "strict? raises when the server has no handle_call clause for it" do
      {:ok, pid} = GenServer.start(Supertester.Test.NoCalls, 0)

      # The unknown call crashes the server: that is how strict? finds out.
      ExUnit.CaptureLog.capture_log(fn ->
        assert_raise ArgumentError, ~r/TestableGenServer/, fn ->
          cast_and_sync(pid, :increment, :__supertester_sync__, strict?: true)
        end
      end)
    end

    test "strict? passes with a sync handler; other replies come back wrapped" do
      {:ok, pid} = setup_isolated_genserver(Synced, "", init_args: 0)
      assert :ok = cast_and_sync(pid, :increment, :__supertester_sync__, strict?: true)
      assert {:ok, 2} = cast_and_sync(pid, :increment, :get)
    end

    test "a dead server is an error, not a crash" do
      {:ok, pid} = setup_isolated_genserver(Synced, "", init_args: 0)
      GenServer.stop(pid)
      assert {:error, :noproc} = cast_and_sync(pid, :increment, :get)
    end
  end

  describe "concurrent_calls/4 and stress_test_server/4" do
    test "results grouped per call, in order" do
      {:ok, pid} = setup_isolated_genserver(Counter, "", init_args: 7)
      assert {:ok, [get, unknown]} = concurrent_calls(pid, [:get, :nope], 20, timeout: 1000)
      assert %{call: :get, successes: successes, errors: []} = get
      assert length(successes) == 20 and Enum.all?(successes, &(&1 == 7))
      assert %{call: :nope, successes: replies} = unknown
      assert length(replies) == 20
    end

    test "errors are counted when the server dies" do
      {:ok, pid} = setup_isolated_genserver(Counter)
      GenServer.stop(pid)
      assert {:ok, [%{successes: [], errors: errors}]} = concurrent_calls(pid, [:get], 3)
      assert errors == [:noproc, :noproc, :noproc]
    end

    test "stress_test_server counts calls and casts and is seeded" do
      {:ok, pid} = setup_isolated_genserver(Counter)
      ops = [{:call, :get}, {:cast, :increment}]
      assert {:ok, stats} = stress_test_server(pid, ops, 50, workers: 2, seed: 42)
      assert %{calls: calls, casts: casts, errors: 0, duration_ms: ms, seed: 42} = stats
      assert calls > 0 and casts > 0 and ms >= 50
      assert {:ok, %{count: ^casts}} = get_server_state_safely(pid)
    end

    test "bad operations are refused" do
      {:ok, pid} = setup_isolated_genserver(Counter)
      assert_raise ArgumentError, ~r/call, Message/, fn -> stress_test_server(pid, [:get], 10) end
    end
  end

  describe "test_server_crash_recovery/2" do
    for strategy <- [:one_for_one, :one_for_all, :rest_for_one] do
      test "a supervised child given by pid recovers (#{strategy})" do
        {:ok, sup} = setup_isolated_supervisor(Tree, "", init_args: unquote(strategy))
        [{_, child, _, _} | _] = Supervisor.which_children(sup)
        assert {:ok, info} = test_server_crash_recovery(child, :test_crash)
        assert %{recovered: true, original_pid: ^child, crash_reason: :test_crash} = info
        assert is_pid(info.new_pid) and info.new_pid != child
      end
    end

    test "an unsupervised server does not recover, and we say so at once" do
      {:ok, pid} = setup_isolated_genserver(Counter)
      assert {:ok, %{recovered: false, recovery_error: :not_supervised}} =
               test_server_crash_recovery(pid, :boom)
    end

    test "an unknown name" do
      assert {:error, :server_not_found} = test_server_crash_recovery(:no_such_server, :boom)
    end
  end

  test "test_invalid_messages/2 reports each answer" do
    {:ok, pid} = setup_isolated_genserver(Counter, "", init_args: 1)
    assert {:ok, [{:get, {:handled, 1}}, {:weird, {:handled, {:error, :unknown_call}}}]} =
             test_invalid_messages(pid, [:get, :weird])
  end
end
