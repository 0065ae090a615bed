defmodule Supertester.ExUnitFoundation do
  @moduledoc """
  Drop-in ExUnit adapter: replace `use ExUnit.Case` with it to get
  Supertester isolation in every test.

      defmodule MyApp.MyTest do
        use Supertester.ExUnitFoundation, isolation: :full_isolation

        test "works concurrently", context do
          assert context.isolation_context.test_id
          {:ok, server} = Supertester.OTPHelpers.setup_isolated_genserver(MyServer)
        end
      end

  ## Options

    * `:isolation` - `:full_isolation` (default), `:basic`, `:registry` or
      `:contamination_detection` (see `Supertester.UnifiedTestFoundation`).
      The first three run the module with `async: true`; contamination
      detection runs it synchronously.
    * `:async` - overrides the mode's choice; `async: true` is refused for
      `:contamination_detection`, whose snapshots would see other tests.
    * `:contamination` - with `:contamination_detection`: `:warn` (default,
      as 0.5.1: a logged warning) or `:fail` (the test fails).

  Unknown options raise `ArgumentError` at compile time, and so do the
  telemetry, logger and ETS isolation options of 0.5.1, which this version
  does not implement yet, rather than being silently ignored.
  """

  @modes [:basic, :registry, :full_isolation, :contamination_detection]
  @options [:isolation, :async, :contamination]
  @not_yet [:telemetry_isolation, :logger_isolation, :ets_isolation]

  @doc false
  defmacro __using__(opts) do
    {isolation, async, contamination} = options!(opts)

    quote do
      use ExUnit.Case, async: unquote(async)

      setup context do
        Supertester.UnifiedTestFoundation.setup_isolation(
          unquote(isolation),
          context,
          contamination: unquote(contamination)
        )
      end
    end
  end

  @doc false
  # Validates the `use` options; raises ArgumentError telling the fix.
  @spec options!(term()) :: {atom(), boolean(), :warn | :fail}
  def options!(opts) do
    unless Keyword.keyword?(opts) do
      raise ArgumentError,
            "use Supertester.ExUnitFoundation expects a keyword list, got: #{Macro.to_string(opts)}"
    end

    Enum.each(opts, fn {key, _} ->
      cond do
        key in @options ->
          :ok

        key in @not_yet ->
          raise ArgumentError,
                "use Supertester.ExUnitFoundation: #{inspect(key)} is not supported by this " <>
                  "version of Supertester yet; remove the option"

        true ->
          raise ArgumentError,
                "use Supertester.ExUnitFoundation: unknown option #{inspect(key)}; " <>
                  "expected one of #{inspect(@options)}"
      end
    end)

    isolation = Keyword.get(opts, :isolation, :full_isolation)

    unless isolation in @modes do
      raise ArgumentError,
            "use Supertester.ExUnitFoundation: unknown isolation #{inspect(isolation)}; " <>
              "expected one of #{inspect(@modes)}"
    end

    allowed = isolation != :contamination_detection
    async = Keyword.get(opts, :async, allowed)

    cond do
      not is_boolean(async) ->
        raise ArgumentError, "use Supertester.ExUnitFoundation: async must be a boolean"

      async and not allowed ->
        raise ArgumentError,
              "use Supertester.ExUnitFoundation: :contamination_detection cannot run async: " <>
                "other tests' processes would count as leaks; remove async: true"

      true ->
        :ok
    end

    contamination = Keyword.get(opts, :contamination, :warn)

    cond do
      contamination not in [:warn, :fail] ->
        raise ArgumentError,
              "use Supertester.ExUnitFoundation: contamination must be :warn or :fail"

      Keyword.has_key?(opts, :contamination) and isolation != :contamination_detection ->
        raise ArgumentError,
              "use Supertester.ExUnitFoundation: contamination: only applies to " <>
                "isolation: :contamination_detection"

      true ->
        {isolation, async, contamination}
    end
  end
end
