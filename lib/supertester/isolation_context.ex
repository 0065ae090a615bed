defmodule Supertester.IsolationContext do
  @moduledoc """
  What Supertester tracks for one test: its id, its registry, the processes
  and ETS tables it started, its cleanup callbacks and tags (module, test
  name, isolation mode...).

  The fields are those of Supertester 0.5.1. The record that cleanup works
  from lives in the C core (see `:supertester_isolation`), held by the
  `:runtime` field: processes that die during the test leave it at once, and
  cleanup undoes what is left, newest first. The list fields here say what
  the test added through Supertester, for inspection.

  The telemetry, logger and ETS isolation fields exist for compatibility;
  those isolation extensions are not implemented yet.
  """

  @type process_info :: %{pid: pid(), name: term() | nil, module: module()}

  @type t :: %__MODULE__{
          test_id: term(),
          registry: atom() | nil,
          processes: [process_info()],
          ets_tables: [term()],
          cleanup_callbacks: [(-> any())],
          initial_processes: [pid()],
          initial_ets_tables: [term()],
          tags: map(),
          telemetry_test_id: integer() | nil,
          telemetry_handlers: [{String.t(), [[atom()]]}],
          logger_original_level: Logger.level() | nil,
          logger_isolated?: boolean(),
          isolated_ets_tables: %{optional(atom()) => :ets.tid() | atom()},
          ets_mirrors: [{atom(), :ets.tid() | atom()}],
          ets_injections: [{module(), atom(), term(), term()}],
          runtime: map() | nil
        }

  @enforce_keys [:test_id]
  defstruct test_id: nil,
            registry: nil,
            processes: [],
            ets_tables: [],
            cleanup_callbacks: [],
            initial_processes: [],
            initial_ets_tables: [],
            tags: %{},
            telemetry_test_id: nil,
            telemetry_handlers: [],
            logger_original_level: nil,
            logger_isolated?: false,
            isolated_ets_tables: %{},
            ets_mirrors: [],
            ets_injections: [],
            runtime: nil

  @doc "Get the isolated ETS table for a source table name."
  @spec get_ets_table(t(), atom()) :: :ets.tid() | atom() | nil
  def get_ets_table(%__MODULE__{isolated_ets_tables: tables}, source_name),
    do: Map.get(tables, source_name)

  @doc "Check if logger isolation is active."
  @spec logger_isolated?(t()) :: boolean()
  def logger_isolated?(%__MODULE__{logger_isolated?: flag}), do: flag

  @doc "List all telemetry handler IDs."
  @spec telemetry_handlers(t()) :: [String.t()]
  def telemetry_handlers(%__MODULE__{telemetry_handlers: handlers}),
    do: Enum.map(handlers, fn {id, _events} -> id end)

  @doc "Get the telemetry test ID for filtering."
  @spec telemetry_id(t()) :: integer() | nil
  def telemetry_id(%__MODULE__{telemetry_test_id: id}), do: id

  @doc false
  # Builds the struct for a context made by :supertester_isolation.setup/2.
  @spec from_runtime(map()) :: t()
  def from_runtime(%{test_id: id, registry: registry, tags: tags, mode: mode} = runtime) do
    {processes, tables} =
      if mode == :contamination_detection, do: {Process.list(), :ets.all()}, else: {[], []}

    %__MODULE__{
      test_id: id,
      registry: if(registry == :undefined, do: nil, else: registry),
      tags: tags,
      initial_processes: processes,
      initial_ets_tables: tables,
      runtime: runtime
    }
  end
end
