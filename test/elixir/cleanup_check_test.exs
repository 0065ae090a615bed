defmodule Supertester.CleanupCheckTest do
  # Synchronous: ExUnit runs it after every async module, whose cleanup
  # (on_exit) has then run.
  use ExUnit.Case, async: false

  test "every server started by the concurrent isolation tests is gone" do
    started = :ets.lookup(:supertester_started, :counter)
    assert length(started) == 100

    # Nothing else runs now, and every earlier test was cleaned up: the
    # servers are dead and their names free.
    for {:counter, pid, name} <- started do
      refute Process.alive?(pid), "#{inspect(pid)} (#{name}) survived its test"
      assert Process.whereis(name) == nil, "#{name} is still registered"
    end

    # 100 servers of one module, and a registry per test, yet few atoms:
    # a name is reused once its holder is gone.
    names = started |> Enum.map(&elem(&1, 2)) |> Enum.uniq()
    assert length(names) < 100
    assert %{created: created} = :supertester_isolation.name_stats()
    assert created < 100
  end
end
