defmodule Supertester do
  @moduledoc """
  Supertester: an OTP testing toolkit whose engine is written in C.

  The Elixir modules keep the names, functions, options and return shapes of
  the published Supertester 0.5.1, so a test suite can switch to this library
  without changes. Each delegates to an Erlang module (`:supertester_*`) that
  holds the logic, which in turn calls the C core through a NIF.

    * `Supertester.ExUnitFoundation`: `use` it instead of `ExUnit.Case` for
      isolated, async tests; `Supertester.UnifiedTestFoundation` is the
      runtime underneath, for custom harnesses (`Supertester.Env`,
      `Supertester.IsolationContext`).
    * `Supertester.TestableGenServer`: a sync handler injected into a
      GenServer, so tests wait for casts without sleeping.
    * `Supertester.OTPHelpers` and `Supertester.GenServerHelpers`: isolated
      servers and supervisors, synchronisation, concurrency, crash recovery.
    * `Supertester.Assertions`: OTP-aware assertions.
    * `Supertester.PerformanceHelpers`: timing, memory, reductions, memory
      leaks, mailbox growth, and statistically sound comparisons.
  """

  @doc """
  Returns the version of Supertester.

      iex> Supertester.version()
      "0.5.1"
  """
  @spec version() :: String.t()
  def version, do: :supertester.version()
end
