defmodule Supertester.Env do
  @moduledoc """
  How Supertester registers the cleanup of a test with the test runner.

  By default it uses `ExUnit.Callbacks.on_exit/1`. A custom harness
  configures its own module, which implements this behaviour:

      defmodule MyHarness.Env do
        @behaviour Supertester.Env

        @impl true
        def on_exit(fun), do: MyHarness.register_cleanup(fun)
      end

      # config/test.exs
      import Config
      config :supertester, :env_module, MyHarness.Env

  Erlang test suites (EUnit, Common Test) do not go through this module:
  they call `:supertester_isolation.teardown/1` themselves, or let the
  janitor clean up when the test's process exits.
  """

  @callback on_exit((-> any())) :: :ok

  @doc "Registers a callback to run when the current test finishes."
  @spec on_exit((-> any())) :: :ok
  def on_exit(callback) when is_function(callback, 0) do
    impl().on_exit(callback)
  end

  def on_exit(other) do
    raise ArgumentError, "Supertester.Env.on_exit/1 expects a function of arity 0, got: #{inspect(other)}"
  end

  defp impl, do: Application.get_env(:supertester, :env_module, Supertester.Env.ExUnit)
end
