defmodule Supertester.MessageHarness do
  @moduledoc """
  What a process received while a function ran.

      report =
        Supertester.MessageHarness.trace_messages(server, fn ->
          send(server, {:direct, :hello})
        end)

      assert {:direct, :hello} in report.messages

  Messages are recorded by the C tracer in arrival order, bounded in count
  and size. When the function returns, every message the calling process
  sent to `pid` is in the report. A process already traced by someone else
  is refused rather than taken over.
  """

  alias Supertester.Internal.Errors

  @doc """
  Traces the messages `pid` receives while `fun` runs. Returns the messages
  in arrival order, the mailbox before and after, and `fun`'s result.

  Options: `:max_messages` (default 100_000), `:max_message_bytes` (default
  65_536; a larger message appears as `{:"$supertester_truncated", bytes}`).
  """
  @spec trace_messages(pid() | atom(), (-> any()), keyword()) :: %{
          messages: [term()],
          result: term(),
          initial_mailbox: [term()],
          final_mailbox: [term()]
        }
  def trace_messages(pid, fun, opts \\ []) do
    Errors.translate(fn -> :supertester_message_harness.trace_messages(pid, fun, opts) end)
  end
end
