defmodule Supertester.TestableGenServerTest do
  use ExUnit.Case, async: true

  import ExUnit.CaptureIO

  alias Supertester.Test.TestableCounter

  @sync :__supertester_sync__

  # Fixtures for the shapes a user's module can take. TestableCounter (in
  # support/) is the usual one: `use GenServer` first, @impl everywhere,
  # its own handle_call/3 with a catch-all clause.

  defmodule UseFirst do
    # `use Supertester.TestableGenServer` before `use GenServer`, no @impl.
    use Supertester.TestableGenServer
    use GenServer

    def init(count), do: {:ok, count}
    def handle_cast(:inc, count), do: {:noreply, count + 1}
    def handle_call(:get, _from, count), do: {:reply, count, count}
  end

  defmodule NoHandleCall do
    use GenServer
    use Supertester.TestableGenServer

    @impl true
    def init(count), do: {:ok, count}

    @impl true
    def handle_cast(:inc, count), do: {:noreply, count + 1}
  end

  defmodule BehaviourOnly do
    # A GenServer written without `use GenServer`, and without handle_call/3.
    @behaviour GenServer
    use Supertester.TestableGenServer

    @impl true
    def init(count), do: {:ok, count}

    @impl true
    def handle_cast(:inc, count), do: {:noreply, count + 1}
  end

  defp start(module, count \\ 0) do
    start_supervised!(%{id: module, start: {GenServer, :start_link, [module, count]}})
  end

  describe "the sync call" do
    test "returns :ok once every earlier cast has been handled" do
      pid = start(TestableCounter)

      for _ <- 1..100, do: GenServer.cast(pid, {:inc_and_tell, self()})
      assert GenServer.call(pid, @sync) == :ok

      # Each cast told us when it was handled, before the reply came: the
      # 100 notes are already in the mailbox (assert_received does not wait).
      for n <- 1..100, do: assert_received({:handled, ^n})
      assert :sys.get_state(pid) == 100
    end

    test "return_state: true replies {:ok, state}" do
      pid = start(TestableCounter, 41)
      GenServer.cast(pid, :inc)
      assert GenServer.call(pid, {@sync, return_state: true}) == {:ok, 42}
    end

    test "return_state: false, or other options, reply :ok" do
      pid = start(TestableCounter)
      assert GenServer.call(pid, {@sync, return_state: false}) == :ok
      assert GenServer.call(pid, {@sync, []}) == :ok
      assert GenServer.call(pid, {@sync, other: 1}) == :ok
      # As with Keyword.get/2, the first value wins.
      assert GenServer.call(pid, {@sync, return_state: false, return_state: true}) == :ok
    end

    test "the module's own clauses, catch-all included, still answer" do
      pid = start(TestableCounter)
      GenServer.cast(pid, :inc)
      assert GenServer.call(pid, :get) == 1
      assert GenServer.call(pid, :something_else) == {:error, :unknown_call}
      # Not an option list, so not a sync message: the module's own clause.
      assert GenServer.call(pid, {@sync, :not_a_list}) == {:error, :unknown_call}
      assert GenServer.call(pid, @sync) == :ok
    end

    test "__supertester_testable__/0 tells cast_and_sync the handler is there" do
      assert TestableCounter.__supertester_testable__()
      assert function_exported?(UseFirst, :__supertester_testable__, 0)
      assert function_exported?(BehaviourOnly, :__supertester_testable__, 0)
    end
  end

  describe "module shapes" do
    test "`use Supertester.TestableGenServer` before `use GenServer`" do
      pid = start(UseFirst)
      GenServer.cast(pid, :inc)
      assert GenServer.call(pid, {@sync, return_state: true}) == {:ok, 1}
      assert GenServer.call(pid, :get) == 1
    end

    test "a module without handle_call/3" do
      pid = start(NoHandleCall)
      GenServer.cast(pid, :inc)
      assert GenServer.call(pid, @sync) == :ok
      assert GenServer.call(pid, {@sync, return_state: true}) == {:ok, 1}

      # Any other call fails as with `use GenServer`'s default (called
      # directly here, to keep the server's crash report out of the output).
      assert_raise RuntimeError, ~r/NoHandleCall defines no handle_call\/3 clause/, fn ->
        NoHandleCall.handle_call(:get, {self(), make_ref()}, 0)
      end
    end

    test "a module with @behaviour GenServer and no `use GenServer`" do
      pid = start(BehaviourOnly)
      GenServer.cast(pid, :inc)
      assert GenServer.call(pid, {@sync, return_state: true}) == {:ok, 1}

      assert_raise RuntimeError, fn ->
        BehaviourOnly.handle_call(:get, {self(), make_ref()}, 0)
      end
    end
  end

  # Modules compiled from source at test time, so that what the compiler
  # prints can be captured. Each gets a unique name (the tests run async).

  defp compile(source_fun) do
    module = Module.concat(__MODULE__, "Compiled#{System.unique_integer([:positive])}")
    source = source_fun.(inspect(module))

    stderr =
      capture_io(:stderr, fn ->
        Code.compile_string(source, "testable_source.ex")
      end)

    on_exit(fn -> unload(module) end)
    {module, stderr}
  end

  defp unload(module) do
    :code.purge(module)
    :code.delete(module)
  end

  defp run(module) do
    {:ok, pid} = GenServer.start(module, 0)
    GenServer.cast(pid, :inc)
    state = GenServer.call(pid, {@sync, return_state: true})
    GenServer.stop(pid)
    state
  end

  @heads %{
    "use GenServer first" => "use GenServer\n  use Supertester.TestableGenServer",
    "use Supertester first" => "use Supertester.TestableGenServer\n  use GenServer",
    "@behaviour GenServer" => "@behaviour GenServer\n  use Supertester.TestableGenServer"
  }

  @impls %{"no @impl" => "", "@impl true" => "@impl true", "@impl GenServer" => "@impl GenServer"}

  @bodies %{
    "own handle_call with a catch-all" => """
      IMPL
      def init(count), do: {:ok, count}

      IMPL
      def handle_cast(:inc, count), do: {:noreply, count + 1}

      IMPL
      def handle_call(:get, _from, count), do: {:reply, count, count}
      def handle_call(_message, _from, count), do: {:reply, {:error, :unknown_call}, count}
    """,
    "no handle_call" => """
      IMPL
      def init(count), do: {:ok, count}

      IMPL
      def handle_cast(:inc, count), do: {:noreply, count + 1}
    """
  }

  describe "no compile warnings" do
    for {head_name, head} <- @heads, {impl_name, impl} <- @impls, {body_name, body} <- @bodies do
      @head head
      @body String.replace(body, "IMPL", impl)

      test "#{head_name}, #{impl_name}, #{body_name}" do
        {module, stderr} =
          compile(fn name -> "defmodule #{name} do\n  #{@head}\n\n#{@body}end\n" end)

        assert stderr == ""
        assert run(module) == {:ok, 1}
      end
    end

    test "using it twice" do
      {module, stderr} =
        compile(fn name ->
          """
          defmodule #{name} do
            use GenServer
            use Supertester.TestableGenServer
            use Supertester.TestableGenServer

            @impl true
            def init(count), do: {:ok, count}

            @impl true
            def handle_cast(:inc, count), do: {:noreply, count + 1}
          end
          """
        end)

      assert stderr == ""
      assert run(module) == {:ok, 1}
    end

    test "a module whose own @impl use warns gets the same warnings, no more" do
      # @impl on handle_cast/2 only: Elixir warns about init/1 and
      # handle_call/3. The injected code must not add to that.
      source = fn name, use_line ->
        """
        defmodule #{name} do
          use GenServer
          #{use_line}

          def init(count), do: {:ok, count}

          @impl true
          def handle_cast(:inc, count), do: {:noreply, count + 1}

          def handle_call(:get, _from, count), do: {:reply, count, count}
        end
        """
      end

      {plain, plain_stderr} = compile(&source.(&1, "# (no use)"))
      {testable, stderr} = compile(&source.(&1, "use Supertester.TestableGenServer"))

      # The capture does see warnings...
      assert plain_stderr =~ "@impl was not set for function init/1"
      # ...and these are the same, but for the module name.
      assert String.replace(stderr, inspect(testable), "M") ==
               String.replace(plain_stderr, inspect(plain), "M")
    end
  end

  describe "misuse" do
    test "in a module that is not a GenServer, a compile error says how to fix it" do
      error =
        assert_raise CompileError, fn ->
          compile(fn name ->
            """
            defmodule #{name} do
              use Supertester.TestableGenServer

              def hello, do: :world
            end
            """
          end)
        end

      assert error.line == 2
      assert error.file =~ "testable_source.ex"
      assert error.description =~ "is not a GenServer"
      assert error.description =~ "Add `use GenServer`"
    end

    test "a private handle_call/3 is a compile error" do
      error =
        assert_raise CompileError, fn ->
          compile(fn name ->
            """
            defmodule #{name} do
              @behaviour GenServer
              use Supertester.TestableGenServer

              @impl true
              def init(count), do: {:ok, count}

              defp handle_call(:get, _from, count), do: {:reply, count, count}
            end
            """
          end)
        end

      assert error.description =~ "defines handle_call/3 with defp"
    end

    test "options are refused" do
      assert_raise ArgumentError, ~r/takes no options, got: \[strict: true\]/, fn ->
        compile(fn name ->
          """
          defmodule #{name} do
            use GenServer
            use Supertester.TestableGenServer, strict: true
          end
          """
        end)
      end
    end
  end
end
