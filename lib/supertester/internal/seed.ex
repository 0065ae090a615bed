defmodule Supertester.Internal.Seed do
  @moduledoc false
  # The seed chaos and concurrent scenarios default to: ExUnit's --seed,
  # so `mix test --seed N` replays a failing run.

  @spec ex_unit_seed() :: non_neg_integer() | nil
  def ex_unit_seed do
    if Process.whereis(ExUnit.Server), do: Keyword.get(ExUnit.configuration(), :seed), else: nil
  end
end
