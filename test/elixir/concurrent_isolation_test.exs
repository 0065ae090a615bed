defmodule Supertester.ConcurrentIsolationTest do
  # 100 tests, run concurrently, each starting a server of the same module
  # under the same logical name and registering it under the same key in its
  # registry. None may collide; Supertester.CleanupCheckTest checks, after
  # them, that every one of these servers is gone.
  use Supertester.ExUnitFoundation, isolation: :full_isolation

  import Supertester.OTPHelpers
  import Supertester.GenServerHelpers

  alias Supertester.Test.Counter

  for n <- 1..100 do
    test "isolated server #{n}", %{isolation_context: ctx} do
      {:ok, pid} = setup_isolated_genserver(Counter, "shared logical name", init_args: unquote(n))
      {:registered_name, name} = Process.info(pid, :registered_name)
      assert Atom.to_string(name) =~ ~r/^Supertester\.Test\.Counter#\d+$/
      assert Process.whereis(name) == pid

      # The same key in every test's registry: each test has its own.
      {:ok, _} = Registry.register(ctx.registry, :server, unquote(n))
      assert [{self(), unquote(n)}] == Registry.lookup(ctx.registry, :server)

      :ok = cast_and_sync(pid, :increment)
      assert {:ok, %{count: unquote(n + 1)}} = get_server_state_safely(pid)
      :ets.insert(:supertester_started, {:counter, pid, name})
    end
  end
end
