%% @doc Shared plumbing for the public modules: option lists, argument
%% checks, and the two ways a Supertester function fails.
%%
%% <ul>
%% <li>Bad input raises `{badarg, #{argument, value, expected}}': the
%%   offending argument is named, with what was expected.</li>
%% <li>A failed assertion raises
%%   `{assertion_failed, #{assertion, message, details}}', where `message' is
%%   a readable binary and `details' holds the measured values.</li>
%% </ul>
%% The Elixir facade turns the first into `ArgumentError' and the second into
%% `ExUnit.AssertionError', with the same message. {@link format_error/1}
%% gives that message to Erlang callers.
-module(supertester_lib).

-export([options/3, bad_arg/3, assertion_failed/3, format_error/1]).
-export([check_fun/3, check_non_neg_integer/2, check_pos_integer/2,
         check_non_neg_number/2, check_fraction/2, check_timeout/2,
         check_process_ref/2]).
-export([resolve/1, resolve_local_pid/2, deadline/1, remaining/1, wait_until/2]).
-export([format_number/1, format_bytes/1]).

-export_type([options/0]).

-type options() :: [{atom(), term()} | atom()] | #{atom() => term()}.

%% @doc Normalises an option list (a proplist, an Elixir keyword list or a
%% map) to a map, refusing keys not in `Allowed' so a misspelt option is an
%% error rather than silently ignored. For duplicated keys the first wins,
%% as with `proplists:get_value/2' and `Keyword.get/2'.
-spec options(Function :: atom(), options(), Allowed :: [atom()]) -> map().
options(Function, Opts, Allowed) when is_map(Opts) ->
    check_known(Function, maps:keys(Opts), Allowed),
    Opts;
options(Function, Opts, Allowed) when is_list(Opts) ->
    Pairs = [pair(Function, Opt) || Opt <- Opts],
    check_known(Function, [K || {K, _} <- Pairs], Allowed),
    maps:from_list(lists:reverse(Pairs));
options(Function, Opts, _Allowed) ->
    bad_arg(options, Opts, io_lib:format("a keyword list or map of options for ~s", [Function])).

pair(_Function, {Key, Value}) when is_atom(Key) -> {Key, Value};
pair(_Function, Key) when is_atom(Key) -> {Key, true};
pair(Function, Other) ->
    bad_arg(options, Other, io_lib:format("an option of ~s as {Key, Value}", [Function])).

check_known(Function, Keys, Allowed) ->
    case [K || K <- Keys, not lists:member(K, Allowed)] of
        [] -> ok;
        [Unknown | _] ->
            bad_arg(io_lib:format("option for ~s", [Function]), Unknown,
                    ["one of: ", join_atoms(Allowed)])
    end.

join_atoms(Atoms) ->
    lists:join(", ", [atom_to_list(A) || A <- Atoms]).

%% @doc Raises the error for a bad argument.
-spec bad_arg(Argument :: atom() | iodata(), Value :: term(), Expected :: iodata()) ->
          no_return().
bad_arg(Argument, Value, Expected) when is_list(Argument) ->
    bad_arg(unicode:characters_to_binary(Argument), Value, Expected);
bad_arg(Argument, Value, Expected) ->
    erlang:error({badarg, #{argument => Argument, value => Value,
                            expected => unicode:characters_to_binary(Expected)}}).

%% @doc Raises the error for a failed assertion.
-spec assertion_failed(Assertion :: atom(), Message :: iodata(), Details :: map()) ->
          no_return().
assertion_failed(Assertion, Message, Details) ->
    erlang:error({assertion_failed,
                  #{assertion => Assertion,
                    message => unicode:characters_to_binary(Message),
                    details => Details}}).

%% @doc The message of a Supertester error reason, for people.
-spec format_error(term()) -> binary().
format_error({assertion_failed, #{message := Message}}) ->
    Message;
format_error({badarg, #{argument := Argument, value := Value, expected := Expected}}) ->
    unicode:characters_to_binary(
      io_lib:format("invalid ~s: ~0tp; expected ~ts", [Argument, Value, Expected]));
format_error({badarg, Term}) ->
    unicode:characters_to_binary(io_lib:format("invalid argument: ~0tp", [Term]));
format_error(Other) ->
    unicode:characters_to_binary(io_lib:format("~0tp", [Other])).

%% Argument checks: each returns the value or raises bad_arg.

-spec check_fun(atom(), term(), arity()) -> function().
check_fun(_Name, Fun, Arity) when is_function(Fun, Arity) -> Fun;
check_fun(Name, Other, Arity) ->
    bad_arg(Name, Other, io_lib:format("a function of arity ~b", [Arity])).

-spec check_non_neg_integer(atom(), term()) -> non_neg_integer().
check_non_neg_integer(_Name, N) when is_integer(N), N >= 0 -> N;
check_non_neg_integer(Name, Other) -> bad_arg(Name, Other, "a non-negative integer").

-spec check_pos_integer(atom(), term()) -> pos_integer().
check_pos_integer(_Name, N) when is_integer(N), N > 0 -> N;
check_pos_integer(Name, Other) -> bad_arg(Name, Other, "a positive integer").

-spec check_non_neg_number(atom(), term()) -> number().
check_non_neg_number(_Name, N) when is_number(N), N >= 0 -> N;
check_non_neg_number(Name, Other) -> bad_arg(Name, Other, "a non-negative number").

%% A fraction strictly between 0 and 1, such as a confidence level.
-spec check_fraction(atom(), term()) -> float().
check_fraction(_Name, F) when is_number(F), F > 0, F < 1 -> float(F);
check_fraction(Name, Other) -> bad_arg(Name, Other, "a number strictly between 0 and 1").

%% @doc A timeout in ms: a non-negative integer or `infinity'.
-spec check_timeout(atom(), term()) -> timeout().
check_timeout(_Name, infinity) -> infinity;
check_timeout(_Name, T) when is_integer(T), T >= 0 -> T;
check_timeout(Name, Other) ->
    bad_arg(Name, Other, "a non-negative integer of milliseconds, or infinity").

%% @doc A way to name a process: a pid, a registered name, `{global, Name}'
%% or `{via, Module, Name}'. Returns it.
-spec check_process_ref(atom(), term()) -> term().
check_process_ref(_Argument, Ref) when is_pid(Ref); is_atom(Ref) -> Ref;
check_process_ref(_Argument, {global, _} = Ref) -> Ref;
check_process_ref(_Argument, {via, Module, _} = Ref) when is_atom(Module) -> Ref;
check_process_ref(Argument, Other) ->
    bad_arg(Argument, Other, "a pid, a registered name, {global, Name} or {via, Module, Name}").

%% @doc The pid a process reference stands for now: a pid, a registered
%% name, `{global, Name}' or `{via, Module, Name}'; `undefined' when nothing
%% is registered under it, or for any other term.
-spec resolve(term()) -> pid() | undefined.
resolve(Pid) when is_pid(Pid) -> Pid;
resolve(Name) when is_atom(Name) -> whereis(Name);
resolve({global, Name}) -> global:whereis_name(Name);
resolve({via, Module, Name}) when is_atom(Module) -> Module:whereis_name(Name);
resolve(_Other) -> undefined.

%% @doc The pid of a live local process given as a pid, a registered name,
%% `{global, Name}' or `{via, Module, Name}'.
-spec resolve_local_pid(atom(), term()) -> pid().
resolve_local_pid(Argument, Target) ->
    Pid = resolve(check_process_ref(Argument, Target)),
    if
        not is_pid(Pid) ->
            bad_arg(Argument, Target, "a registered process (nothing is registered under this name)");
        node(Pid) =/= node() ->
            bad_arg(Argument, Target, "a process on the local node");
        true ->
            case is_process_alive(Pid) of
                true -> Pid;
                false -> bad_arg(Argument, Target, "a live process (this one is dead)")
            end
    end.

%% @doc The monotonic time (ms) at which `Timeout' ms from now end.
-spec deadline(timeout()) -> integer() | infinity.
deadline(infinity) -> infinity;
deadline(Timeout) -> erlang:monotonic_time(millisecond) + Timeout.

%% @doc What is left of a deadline, in ms, never negative.
-spec remaining(integer() | infinity) -> timeout().
remaining(infinity) -> infinity;
remaining(Deadline) -> max(0, Deadline - erlang:monotonic_time(millisecond)).

%% @doc A number for a message: integers as they are, floats with at most
%% three decimals.
-spec format_number(number()) -> iolist().
format_number(N) when is_integer(N) -> integer_to_list(N);
format_number(F) when is_float(F) -> float_to_list(F, [{decimals, 3}, compact]).

%% @doc A byte count for a message ("1.5 MB (1572864 bytes)").
-spec format_bytes(number()) -> iolist().
format_bytes(B) when abs(B) >= 1048576 ->
    [format_number(B / 1048576), " MB (", format_number(round(B)), " bytes)"];
format_bytes(B) when abs(B) >= 1024 ->
    [format_number(B / 1024), " KB (", format_number(round(B)), " bytes)"];
format_bytes(B) ->
    [format_number(B), " bytes"].

%% @doc Evaluates `Check' until it returns `{true, Value}', at most
%% `Timeout' ms in all, waiting 1, 2, 4, 8, then 16 ms between tries. This
%% is the fallback for conditions no event announces (an ETS entry, a
%% Registry entry) and for supervisors that cannot be traced (traced by
%% someone else); where a monitor, a reply or a trace event can say it, the
%% callers wait on that instead (see supertester_recovery).
-spec wait_until(fun(() -> {true, Value} | term()), timeout()) -> {ok, Value} | {error, timeout}.
wait_until(Check, Timeout) ->
    wait_until(Check, deadline(Timeout), 1).

wait_until(Check, Deadline, Pause) ->
    case Check() of
        {true, Value} ->
            {ok, Value};
        _ ->
            case remaining(Deadline) of
                0 ->
                    {error, timeout};
                Remaining ->
                    receive after min(Pause, Remaining) -> ok end,
                    wait_until(Check, Deadline, min(2 * Pause, 16))
            end
    end.
