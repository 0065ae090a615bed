defmodule Supertester.TestableGenServer do
  @moduledoc """
  A behavior that makes GenServers testable with Supertester.

  This module injects a `__supertester_sync__` handler that allows tests to
  synchronize with the GenServer without sleeping.

  ## Usage

      defmodule MyServer do
        use GenServer
        use Supertester.TestableGenServer

        # Your GenServer implementation
      end

  The two `use` lines may come in either order, and the module keeps its own
  `handle_call/3` clauses, catch-all clause included.

  ## Synchronization

  The injected handler responds to two message formats:

    * `:__supertester_sync__` - Returns `:ok` after processing
    * `{:__supertester_sync__, return_state: true}` - Returns `{:ok, state}`

  With any other keyword list (`return_state: false`, or no `:return_state`
  at all) the reply is `:ok`.

  The handler is an ordinary `handle_call/3` clause, so it runs in the server
  process after every message that reached the mailbox before it. When the
  reply arrives, every earlier cast has been handled:

      {:ok, server} = MyServer.start_link()
      GenServer.cast(server, :some_operation)

      # Ensure cast is processed before continuing
      GenServer.call(server, :__supertester_sync__)

      # Now safe to verify results
      state = :sys.get_state(server)

  `Supertester.GenServerHelpers.cast_and_sync/4` is this cast followed by
  this call, with `:__supertester_sync__` as its default sync message.

  ## What is injected

  Just before the module is compiled (a `@before_compile` hook, so it sees
  the whole module whatever the order of the `use` lines):

    * if the module defines `handle_call/3`, that function is made
      overridable and replaced by the two sync clauses followed by a clause
      that hands every other message to the module's own definition
      (`super/3`). The sync clauses therefore come first, even before a
      catch-all clause;
    * if it does not (or only has the default one `use GenServer` adds),
      `handle_call/3` is the two sync clauses followed by a clause that
      raises, as `use GenServer`'s default does, for any other call;
    * `__supertester_testable__/0`, hidden from the docs, which tells
      `cast_and_sync` that the server answers the sync call.

  The injected code compiles without warnings, with or without `@impl`
  annotations in the module. It carries no `@impl` of its own: Elixir asks
  for `@impl` only on the definitions a module writes itself, not on those a
  macro generates. The one exception is deliberate: the replacement of the
  module's own `handle_call/3` takes that function's line and origin, so
  Elixir checks its `@impl` exactly as before (and the sync clauses show up
  on that line in stack traces). The generated code does not call
  Supertester at run time.

  Using it in a module that is not a GenServer (it declares neither
  `GenServer` nor `:gen_server` as a behaviour and defines no
  `handle_call/3`) is a compile error that says so: the sync message could
  never reach such a module.

  ## Erlang gen_servers

  Erlang modules get the same two clauses from a parse transform, see
  `:supertester_testable`:

      -compile({parse_transform, supertester_testable}).

  Erlang tests then call `gen_server:call(Pid, '__supertester_sync__')` or
  `gen_server:call(Pid, {'__supertester_sync__', [{return_state, true}]})`.
  """

  @line_attribute :__supertester_testable_line__

  @doc false
  defmacro __using__(opts) do
    if opts != [] do
      raise ArgumentError,
            "use Supertester.TestableGenServer takes no options, got: #{inspect(opts)}"
    end

    quote do
      @before_compile Supertester.TestableGenServer
      # Remembered so that compile errors point at the line of the `use`.
      Module.put_attribute(__MODULE__, unquote(@line_attribute), unquote(__CALLER__.line))
    end
  end

  @doc false
  defmacro __before_compile__(env) do
    line = Module.get_attribute(env.module, @line_attribute) || env.line

    quote do
      unquote(handle_call_definition(env, line))
      unquote(marker(env.module, line))
    end
  end

  defp handle_call_definition(env, line) do
    module = env.module

    case Module.get_definition(module, {:handle_call, 3}, skip_clauses: true) do
      nil ->
        unless gen_server?(module) do
          raise CompileError,
            file: env.file,
            line: line,
            description:
              "use Supertester.TestableGenServer: #{inspect(module)} is not a GenServer " <>
                "(it declares no GenServer behaviour and defines no handle_call/3). " <>
                "Add `use GenServer` to the module, or remove `use Supertester.TestableGenServer`"
        end

        # Nothing to keep. @doc false keeps the function out of the docs, as
        # `use GenServer` does for its default callbacks.
        quote line: line do
          @doc false
          unquote(sync_clauses(line))
          unquote(no_other_call_clause(line))
        end

      {:v1, :def, meta, _clauses} ->
        # defoverridable takes the current definition out of the way, so the
        # clauses injected next start a new handle_call/3 instead of being
        # appended after the module's own (possibly catch-all) clauses.
        if meta[:context] == GenServer,
          do: replace_gen_server_default(line),
          else: wrap_own_handle_call(meta)

      {:v1, kind, _meta, _clauses} ->
        raise CompileError,
          file: env.file,
          line: line,
          description:
            "use Supertester.TestableGenServer: #{inspect(module)} defines handle_call/3 " <>
              "with #{kind}, but gen_server calls it from another module. Define it with def"
    end
  end

  # cast_and_sync looks for this function to know the server answers the
  # sync call. Defined once, even if the module says `use` twice.
  defp marker(module, line) do
    unless Module.defines?(module, {:__supertester_testable__, 0}) do
      quote line: line do
        @doc false
        def __supertester_testable__, do: true
      end
    end
  end

  # Only the default `use GenServer` injects. Reaching it through super/3
  # would warn ("calling super for GenServer callback handle_call/3 is
  # deprecated"), so it is replaced by a clause that fails the way it does.
  defp replace_gen_server_default(line) do
    quote line: line do
      defoverridable handle_call: 3
      unquote(sync_clauses(line))
      unquote(no_other_call_clause(line))
    end
  end

  # The module's own handle_call/3 gets every other message via super/3.
  defp wrap_own_handle_call(meta) do
    line = meta[:line]

    replacement =
      quote line: line do
        defoverridable handle_call: 3
        unquote(sync_clauses(line))
        def handle_call(message, from, state), do: super(message, from, state)
      end

    # Elixir checks @impl only on the definitions it believes the module
    # wrote itself: those without a :context in their metadata. Giving the
    # replacement the original's line and context keeps that check exactly
    # as it was: no warning more, and none less.
    with_context(replacement, meta[:context])
  end

  # Sets (or removes, for nil) the :context of every `def` head in ast.
  defp with_context(ast, context) do
    Macro.prewalk(ast, fn
      {:def, def_meta, [{name, head_meta, args} | body]} ->
        head_meta =
          if context,
            do: Keyword.put(head_meta, :context, context),
            else: Keyword.delete(head_meta, :context)

        {:def, def_meta, [{name, head_meta, args} | body]}

      other ->
        other
    end)
  end

  defp gen_server?(module) do
    behaviours = Module.get_attribute(module, :behaviour) || []
    GenServer in behaviours or :gen_server in behaviours
  end

  defp sync_clauses(line) do
    quote line: line do
      def handle_call(:__supertester_sync__, _from, state), do: {:reply, :ok, state}

      def handle_call({:__supertester_sync__, options}, _from, state) when is_list(options) do
        # A keyword list is a proplist: the Erlang parse transform reads the
        # option the same way, so both languages answer alike.
        case :proplists.get_value(:return_state, options, false) do
          true -> {:reply, {:ok, state}, state}
          _ -> {:reply, :ok, state}
        end
      end
    end
  end

  # For modules without a handle_call/3 of their own: any other call is a
  # bug in the caller, reported the way `use GenServer`'s default reports it.
  defp no_other_call_clause(line) do
    quote line: line do
      def handle_call(message, _from, _state) do
        raise "attempted to call GenServer #{inspect(self())} with #{inspect(message)}, " <>
                "but #{inspect(__MODULE__)} defines no handle_call/3 clause for it " <>
                "(only the :__supertester_sync__ clauses of Supertester.TestableGenServer)"
      end
    end
  end
end
