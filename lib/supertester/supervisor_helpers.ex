defmodule Supertester.SupervisorHelpers do
  @moduledoc """
  Testing supervision trees: restart strategies, tree structure,
  supervision events and stabilisation.

      import Supertester.SupervisorHelpers

      test "one_for_one restarts only the failed child" do
        {:ok, supervisor} = setup_isolated_supervisor(MySupervisor)

        result = test_restart_strategy(supervisor, :one_for_one, {:kill_child, :worker_1})

        assert result.restarted == [:worker_1]
        assert result.not_restarted == [:worker_2, :worker_3]
      end

  Waiting follows the supervisor's own trace events, recorded by the C
  tracer: a restart is seen the moment it happens, with no polling
  interval. Supervision events are rebuilt in C from what the supervisor
  did (the exits it received, the processes it spawned, its own exit).
  The Erlang module `:supertester_supervision` offers the same functions to
  EUnit and Common Test.
  """

  alias Supertester.Internal.Errors

  @type restart_scenario ::
          {:kill_child, child_id :: term()}
          | {:kill_children, [child_id :: term()]}
          | {:cascade_failure, start_child_id :: term()}
  @type test_result :: %{restarted: [term()], not_restarted: [term()], supervisor_alive: boolean()}
  @type child_structure :: {child_id :: term(), module()} | {child_id :: term(), tree_structure()}
  @type tree_structure :: %{
          optional(:supervisor) => module(),
          optional(:strategy) => atom(),
          optional(:children) => [child_structure()]
        }
  @type supervision_event ::
          {:child_started, child_id :: term(), pid()}
          | {:child_terminated, child_id :: term(), pid(), reason :: term()}
          | {:child_restarted, child_id :: term(), old_pid :: pid(), new_pid :: pid()}
          | {:supervisor_terminated, pid(), reason :: term()}

  @doc """
  Kills children (`{:kill_child, id}`, `{:kill_children, ids}`, or
  `{:cascade_failure, id}`: the child and every child started after it) and
  reports, in start order, which children got a new pid (`:restarted`),
  which kept theirs (`:not_restarted`) and whether the supervisor survived.

  `strategy` is the strategy the test expects: a supervisor running another
  one fails with `ExUnit.AssertionError`. The report is read once the
  supervisor has handled every death (seen in its trace), at most 5 s later.
  """
  @spec test_restart_strategy(Supervisor.supervisor(), atom(), restart_scenario()) :: test_result()
  def test_restart_strategy(supervisor, strategy, scenario) do
    Errors.translate(fn -> :supertester_supervision.test_restart_strategy(supervisor, strategy, scenario) end)
  end

  @doc """
  Asserts that a supervision tree has the expected structure: the
  supervisor's module, its strategy and its children, as `{id, module}` or
  `{id, nested_structure}`. Every key is optional; children are compared as
  a set of ids. Every difference is reported at once, with its path.

      assert_supervision_tree_structure(root, %{
        supervisor: RootSupervisor,
        strategy: :one_for_one,
        children: [
          {:cache, CacheServer},
          {:workers, %{supervisor: WorkerSupervisor, strategy: :one_for_all,
                       children: [{:worker_1, Worker}, {:worker_2, Worker}]}}
        ]
      })
  """
  @spec assert_supervision_tree_structure(Supervisor.supervisor(), tree_structure()) :: :ok
  def assert_supervision_tree_structure(supervisor, expected) do
    Errors.translate(fn -> :supertester_supervision.assert_supervision_tree_structure(supervisor, expected) end)
  end

  @doc """
  Records the supervisor's events until the returned function is called;
  the function returns them in order. Besides the three child events,
  `{:supervisor_terminated, pid, reason}` says the supervisor itself died
  (restart intensity exceeded).

  Options: `:max_events` (default 100_000; beyond it recording stops).

      {:ok, stop_trace} = trace_supervision_events(supervisor)
      # ... cause a failure ...
      events = stop_trace.()
      assert Enum.any?(events, &match?({:child_restarted, _, _, _}, &1))
  """
  @spec trace_supervision_events(Supervisor.supervisor(), keyword()) :: {:ok, (-> [supervision_event()])}
  def trace_supervision_events(supervisor, opts \\ []) do
    Errors.translate(fn -> :supertester_supervision.trace_supervision_events(supervisor, opts) end)
  end

  @doc """
  Waits until every child of the supervisor is running (none restarting,
  none dead): `:ok`, `{:error, :timeout}`, or `{:error, :supervisor_down}`
  as soon as the supervisor itself is gone. Checked after each of the
  supervisor's trace events.
  """
  @spec wait_for_supervisor_stabilization(Supervisor.supervisor(), timeout()) ::
          :ok | {:error, :timeout | :supervisor_down}
  def wait_for_supervisor_stabilization(supervisor, timeout \\ 5000) do
    Errors.translate(fn -> :supertester_supervision.wait_for_supervisor_stabilization(supervisor, timeout) end)
  end

  @doc "The number of running children (`:active` in `Supervisor.count_children/1`)."
  @spec get_active_child_count(Supervisor.supervisor()) :: non_neg_integer()
  def get_active_child_count(supervisor) do
    Errors.translate(fn -> :supertester_supervision.get_active_child_count(supervisor) end)
  end
end
