defmodule Mix.Tasks.Compile.SupertesterNif do
  @moduledoc """
  Builds the C core and the NIF library (`priv/supertester_nif.so`) by
  running `make -C c_src`, the same step rebar3 runs as its pre_hook.
  """
  use Mix.Task.Compiler

  @impl true
  def run(_args) do
    c_src = Path.expand("c_src", __DIR__)

    case System.cmd("make", ["--no-print-directory", "-C", c_src], stderr_to_stdout: true) do
      {_output, 0} ->
        {:ok, []}

      {output, status} ->
        Mix.shell().error(output)
        Mix.raise("make -C #{c_src} failed with exit status #{status}")
    end
  end
end

defmodule Supertester.MixProject do
  use Mix.Project

  # One version for both builds: the one in src/supertester.app.src.
  @version (
             {:ok, [{:application, :supertester, props}]} =
               :file.consult(Path.expand("src/supertester.app.src", __DIR__))

             props |> Keyword.fetch!(:vsn) |> List.to_string()
           )

  def project do
    [
      app: :supertester,
      version: @version,
      elixir: "~> 1.14",
      description: "OTP testing toolkit with a C engine",
      compilers: [:supertester_nif] ++ Mix.compilers(),
      erlc_paths: ["src"],
      erlc_include_path: "include",
      elixirc_paths: elixirc_paths(Mix.env()),
      elixirc_options: [warnings_as_errors: Mix.env() == :test],
      test_paths: ["test/elixir"],
      deps: []
    ]
  end

  defp elixirc_paths(:test), do: ["lib", "test/elixir/support"]
  defp elixirc_paths(_), do: ["lib"]

  # ExUnit is a runtime dependency: failed assertions raise
  # ExUnit.AssertionError, as the published library's users expect; Logger
  # reports what contamination detection finds.
  def application do
    [extra_applications: [:ex_unit, :logger]]
  end
end
