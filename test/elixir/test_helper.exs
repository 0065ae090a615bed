# Processes started by the async isolation tests are written down here (a
# table owned by the test runner's process, so it outlives every test), and
# a synchronous test, which ExUnit runs after the async ones, checks they
# are all gone.
:ets.new(:supertester_started, [:named_table, :public, :bag])

ExUnit.start()
