%% Entry point for a factory node started from outside (a Check test, the
%% demo, the bench):
%%
%%   erl -sname NAME -setcookie COOKIE -noshell \
%%       -pa _build/examples/factory/ebin -run factory_node main
%%
%% `-run Mod Func' with no arguments calls the 0-arity `main/0'. It starts
%% the factory application, prints exactly one line, `ready NAME@HOST', on
%% standard output, and returns; the node then lives until its standard input
%% reaches end of file, and halts with status 0. A test that starts a node
%% through a pipe therefore cannot leak it: when the test process exits, for
%% whatever reason, the pipe closes and the node goes with it. Lines written
%% to standard input are read and ignored.
%%
%% The flip side: a node started with stdin already at end of file (from
%% /dev/null, `nohup', a `&' job of a non-interactive shell) halts at once.
%% Give it a pipe or a terminal that stays open, e.g. `sleep infinity | erl ...'.
%%
%% Standard output carries nothing else: the default logger handler is moved
%% to standard error first, so supervisor reports cannot fill a pipe that the
%% starter reads only up to the `ready' line. If the application does not
%% start, the reason goes to standard error and the node halts with status 1,
%% before any `ready' line.
-module(factory_node).

-export([main/0]).

-spec main() -> ok.
main() ->
    log_to_stderr(),
    case application:ensure_all_started(factory) of
        {ok, _Started} ->
            _ = spawn(fun wait_for_eof/0),
            io:format("ready ~s~n", [node()]);
        {error, Reason} ->
            io:format(standard_error, "factory failed to start: ~p~n", [Reason]),
            erlang:halt(1)
    end.

log_to_stderr() ->
    case logger:get_handler_config(default) of
        {ok, Config = #{module := logger_std_h}} ->
            ok = logger:remove_handler(default),
            Kept = maps:with([level, filter_default, filters, formatter], Config),
            ok = logger:add_handler(default, logger_std_h,
                                    Kept#{config => #{type => standard_error}});
        _NoneOrOther ->
            ok
    end.

wait_for_eof() ->
    case io:get_line(standard_io, "") of
        Line when is_list(Line); is_binary(Line) -> wait_for_eof();
        _EofOrError -> erlang:halt(0)
    end.
