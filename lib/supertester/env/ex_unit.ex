defmodule Supertester.Env.ExUnit do
  @moduledoc "The default environment: `ExUnit.Callbacks.on_exit/1`."
  @behaviour Supertester.Env

  @impl true
  def on_exit(callback) do
    ExUnit.Callbacks.on_exit(callback)
    :ok
  end
end
