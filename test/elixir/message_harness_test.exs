defmodule Supertester.MessageHarnessTest do
  # Each test traces processes of its own: they run concurrently.
  use ExUnit.Case, async: true

  alias Supertester.MessageHarness
  alias Supertester.Test.Crash.Worker

  # A process that reads only :stop and {:sync, from}: whatever else it is
  # sent stays in its mailbox.
  defp start_hoarder do
    pid =
      spawn_link(fn ->
        loop = fn loop ->
          receive do
            :stop -> :ok
            {:sync, from} -> send(from, {:synced, self()}) && loop.(loop)
          end
        end

        loop.(loop)
      end)

    on_exit(fn -> send(pid, :stop) end)
    pid
  end

  test "the report has exactly :messages, :result, :initial_mailbox and :final_mailbox" do
    {:ok, server} = start_supervised({Worker, []})
    report = MessageHarness.trace_messages(server, fn -> :done end)

    assert report |> Map.keys() |> Enum.sort() == [:final_mailbox, :initial_mailbox, :messages, :result]
    assert report.result == :done
    assert report.messages == []
    assert report.initial_mailbox == []
    assert report.final_mailbox == []
  end

  test "a message sent while the function runs (the reference's example)" do
    {:ok, server} = start_supervised({Worker, []})

    report =
      Supertester.MessageHarness.trace_messages(server, fn ->
        send(server, {:direct, :hello})
      end)

    assert {:direct, :hello} in report.messages
    assert report.result == {:direct, :hello}
  end

  test "messages in arrival order" do
    {:ok, server} = start_supervised({Worker, []})

    report =
      MessageHarness.trace_messages(server, fn ->
        for i <- 1..200, do: send(server, {:n, i})
        :sent
      end)

    assert report.messages == for(i <- 1..200, do: {:n, i})
    assert report.result == :sent
  end

  test "GenServer casts and calls appear as the GenServer sends them" do
    {:ok, server} = start_supervised({Worker, []})
    test = self()

    report =
      MessageHarness.trace_messages(server, fn ->
        GenServer.cast(server, {:add, 2})
        GenServer.cast(server, {:add, 3})
        Worker.get(server)
      end)

    assert [{:"$gen_cast", {:add, 2}}, {:"$gen_cast", {:add, 3}}, {:"$gen_call", {^test, _tag}, :get}] =
             report.messages

    # The call was answered after both casts.
    assert report.result == 5
  end

  test "messages from other processes are recorded too" do
    {:ok, server} = start_supervised({Worker, []})

    report =
      MessageHarness.trace_messages(server, fn ->
        task = Task.async(fn -> send(server, :from_a_task) end)
        Task.await(task)
        # A call after the task's message: it arrives after it.
        Worker.get(server)
      end)

    assert :from_a_task in report.messages
  end

  test "the mailbox before and after, for a process that does not read it" do
    pid = start_hoarder()
    send(pid, :before_1)
    send(pid, :before_2)

    report =
      MessageHarness.trace_messages(pid, fn ->
        send(pid, :during)
        :ok
      end)

    assert report.initial_mailbox == [:before_1, :before_2]
    assert report.messages == [:during]
    assert report.final_mailbox == [:before_1, :before_2, :during]
  end

  test "a registered name" do
    name = :"mh_server_#{System.unique_integer([:positive])}"
    {:ok, server} = start_supervised({Worker, [name: name]})

    report = MessageHarness.trace_messages(name, fn -> send(server, :by_name) end, [])
    assert report.messages == [:by_name]
  end

  test "the function's exception propagates, and tracing stops" do
    {:ok, server} = start_supervised({Worker, []})

    assert_raise RuntimeError, "boom", fn ->
      MessageHarness.trace_messages(server, fn ->
        send(server, :before_the_raise)
        raise "boom"
      end)
    end

    assert {:flags, []} = :erlang.trace_info(server, :flags)
    # The process can be traced again.
    report = MessageHarness.trace_messages(server, fn -> send(server, :again) end)
    assert report.messages == [:again]
  end

  test "a throw and an exit propagate too" do
    {:ok, server} = start_supervised({Worker, []})
    assert catch_throw(MessageHarness.trace_messages(server, fn -> throw(:thrown) end)) == :thrown
    assert catch_exit(MessageHarness.trace_messages(server, fn -> exit(:gone) end)) == :gone
    assert MessageHarness.trace_messages(server, fn -> :fine end).result == :fine
  end

  test "options: :max_messages keeps the first ones, :max_message_bytes truncates" do
    pid = start_hoarder()

    report =
      MessageHarness.trace_messages(pid, fn -> for i <- 1..10, do: send(pid, i) end, max_messages: 3)

    assert report.messages == [1, 2, 3]
    assert length(report.final_mailbox) == 10

    big = :binary.copy("x", 10_000)

    report =
      MessageHarness.trace_messages(pid, fn -> send(pid, {:big, big}) && send(pid, :small) end,
        max_message_bytes: 1000
      )

    assert [{:"$supertester_truncated", bytes}, :small] = report.messages
    assert is_integer(bytes) and bytes > 1000
  end

  test "a process traced by someone else is refused, not taken over" do
    pid = start_hoarder()

    report =
      MessageHarness.trace_messages(pid, fn ->
        send(pid, :first)

        try do
          MessageHarness.trace_messages(pid, fn -> :nested end)
        rescue
          error -> {:refused, error}
        end
      end)

    assert {:refused, %ErlangError{}} = report.result
    assert report.messages == [:first]
  end
end
