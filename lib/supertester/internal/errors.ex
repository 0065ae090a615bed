defmodule Supertester.Internal.Errors do
  @moduledoc false
  # The Erlang modules fail with structured reasons (see :supertester_lib):
  #   {:assertion_failed, %{message: binary, ...}}  -> ExUnit.AssertionError
  #   {:badarg, %{argument: _, value: _, expected: _}} or {:badarg, term}
  #                                                  -> ArgumentError
  # with the message :supertester_lib.format_error/1 gives Erlang users.
  # Frames of the toolkit's own modules are dropped from the stacktrace so
  # ExUnit points at the test's line. Errors raised by the user's own code
  # (the operations passed in) go through untouched.

  @spec translate((-> result)) :: result when result: var
  def translate(fun) do
    fun.()
  catch
    :error, {:assertion_failed, %{message: message}} ->
      reraise ExUnit.AssertionError, [message: message], user_frames(__STACKTRACE__)

    :error, {:badarg, _} = reason ->
      if raised_by_toolkit?(__STACKTRACE__) do
        message = :supertester_lib.format_error(reason)
        reraise ArgumentError, [message: message], user_frames(__STACKTRACE__)
      else
        :erlang.raise(:error, reason, __STACKTRACE__)
      end
  end

  # A {:badarg, _} from the user's operation must not be rewritten.
  defp raised_by_toolkit?([{module, _fun, _arity, _location} | _]), do: internal?(module)
  defp raised_by_toolkit?(_), do: false

  defp user_frames(stacktrace) do
    Enum.reject(stacktrace, fn {module, _fun, _arity, _location} -> internal?(module) end)
  end

  defp internal?(module) do
    case Atom.to_string(module) do
      "supertester_" <> _ -> true
      "Elixir.Supertester.Internal." <> _ -> true
      _ -> false
    end
  end
end
