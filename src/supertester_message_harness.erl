%% @doc What a process received while a function ran
%% (Supertester.MessageHarness).
%%
%% ```
%% #{messages := [{direct, hello}]} =
%%     supertester_message_harness:trace_messages(Pid, fun() -> Pid ! {direct, hello} end).
%% '''
%%
%% The process's mailbox is read before and after, and every message it
%% receives in between is recorded by the C tracer, in arrival order. When
%% the function returns, messages the caller sent to the process are
%% guaranteed to be in the report: reading the final mailbox is a request
%% the process handles after the caller's earlier messages.
-module(supertester_message_harness).

-export([trace_messages/2, trace_messages/3]).

-type report() :: #{messages := [term()], result := term(),
                    initial_mailbox := [term()], final_mailbox := [term()]}.
-export_type([report/0]).

-spec trace_messages(pid() | atom(), fun(() -> term())) -> report().
trace_messages(Target, Fun) ->
    trace_messages(Target, Fun, []).

%% @doc Options: `max_messages' (default 100000: beyond it the trace stops
%% by itself and the report keeps the first ones), `max_message_bytes'
%% (default 65536: a larger message is reported as
%% `{'$supertester_truncated', Bytes}').
-spec trace_messages(pid() | atom(), fun(() -> term()), supertester_lib:options()) -> report().
trace_messages(Target, Fun, Opts0) ->
    Opts = supertester_lib:options(trace_messages, Opts0, [max_messages, max_message_bytes]),
    Pid = supertester_lib:resolve_local_pid(target, Target),
    _ = supertester_lib:check_fun(function, Fun, 0),
    Initial = mailbox(Pid),
    Session = case supertester_trace:start(
                     [Pid], #{events => ['receive'],
                              max_events => maps:get(max_messages, Opts, 100000),
                              max_message_bytes => maps:get(max_message_bytes, Opts, 65536)}) of
                  {ok, S} -> S;
                  {error, Reason} -> erlang:error({cannot_trace, Reason})
              end,
    Result = try
                 Fun()
             catch
                 Class:Error:Stack ->
                     _ = supertester_trace:stop(Session),
                     erlang:raise(Class, Error, Stack)
             end,
    Final = mailbox(Pid),
    #{events := Events} = supertester_trace:stop(Session),
    #{messages => [Msg || {_, _, _, 'receive', Msg, _} <- Events],
      result => Result,
      initial_mailbox => Initial,
      final_mailbox => Final}.

mailbox(Pid) ->
    case erlang:process_info(Pid, messages) of
        {messages, Messages} -> Messages;
        undefined -> []
    end.
