defmodule Supertester.ExUnitFoundationTest do
  use ExUnit.Case, async: true

  import ExUnit.CaptureIO

  # Compiles a test module using the given `use` line; returns its name.
  defp compile_case(use_line) do
    name = Module.concat(__MODULE__, "Case#{System.unique_integer([:positive])}")

    Code.compile_string("""
    defmodule #{inspect(name)} do
      #{use_line}
      test "placeholder", do: :ok
    end
    """)

    name
  end

  # ExUnit 1.14 keeps a module's async flag in a persisted attribute.
  defp async?(mod), do: mod.__info__(:attributes)[:ex_unit_async] == [true]

  test "the default is :full_isolation, async" do
    mod = compile_case("use Supertester.ExUnitFoundation")
    assert async?(mod)
  end

  test "contamination detection runs synchronously" do
    mod = compile_case("use Supertester.ExUnitFoundation, isolation: :contamination_detection")
    refute async?(mod)
  end

  test "async: false overrides an async mode" do
    mod = compile_case("use Supertester.ExUnitFoundation, isolation: :basic, async: false")
    refute async?(mod)
  end

  test "an unknown isolation mode is refused at compile time" do
    assert_raise ArgumentError, ~r/unknown isolation :complete/, fn ->
      compile_case("use Supertester.ExUnitFoundation, isolation: :complete")
    end
  end

  test "an unknown option is refused, naming the valid ones" do
    assert_raise ArgumentError, ~r/unknown option :isolate.*\[:isolation, :async, :contamination\]/, fn ->
      compile_case("use Supertester.ExUnitFoundation, isolate: :basic")
    end
  end

  test "options of 0.5.1 not implemented yet are refused, not ignored" do
    for option <- ["telemetry_isolation: true", "logger_isolation: true", "ets_isolation: [:t]"] do
      assert_raise ArgumentError, ~r/not supported by this version/, fn ->
        compile_case("use Supertester.ExUnitFoundation, #{option}")
      end
    end
  end

  test "async contamination detection and misplaced contamination: are refused" do
    assert_raise ArgumentError, ~r/cannot run async/, fn ->
      compile_case("use Supertester.ExUnitFoundation, isolation: :contamination_detection, async: true")
    end

    assert_raise ArgumentError, ~r/only applies to/, fn ->
      compile_case("use Supertester.ExUnitFoundation, contamination: :fail")
    end
  end

  test "the legacy use of UnifiedTestFoundation still works and warns" do
    warnings =
      capture_io(:stderr, fn ->
        mod = compile_case("use Supertester.UnifiedTestFoundation, isolation: :basic")
        assert async?(mod)
      end)

    assert warnings =~ "deprecated"
    assert warnings =~ "Supertester.ExUnitFoundation"
  end
end
