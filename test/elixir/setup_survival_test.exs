defmodule Supertester.SetupSurvivalTest do
  # A supervisor started in setup or setup_all is still there, with its
  # children, when the tests run: it belongs to the context of the process
  # that started it, torn down after that process's tests.
  use Supertester.ExUnitFoundation, isolation: :basic

  import Supertester.OTPHelpers

  alias Supertester.Test.Tree

  setup_all do
    # setup_all runs in a process of its own: the supervisor goes into that
    # process's context, torn down by on_exit after the module's tests.
    {:ok, sup} = setup_isolated_supervisor(Tree, "setup_all", init_args: :one_for_one)
    %{shared_sup: sup}
  end

  setup do
    {:ok, sup} = setup_isolated_supervisor(Tree, "setup", init_args: :rest_for_one)
    %{own_sup: sup}
  end

  test "the supervisor from setup_all serves the tests", ctx do
    assert Process.alive?(ctx.shared_sup)
    assert %{active: 3} = Supervisor.count_children(ctx.shared_sup)
  end

  test "the supervisor from setup is alive and belongs to this test", ctx do
    assert Process.alive?(ctx.own_sup)
    tracked = :supertester_isolation.tracked(:supertester_isolation.current())
    assert ctx.own_sup in for({:process, pid, _} <- tracked, do: pid)
  end
end
