%% @doc What a running supervisor is: its restart strategy and intensity,
%% read from its state, so an assertion can check the strategy for real
%% (Supertester 0.5.1's `assert_supervisor_strategy' admitted it could not).
%%
%% OTP does not export a supervisor's flags. They are read with
%% `sys:get_state/2' from the `#state{}' record of OTP's `supervisor'
%% (strategy, intensity and period are its 3rd, 6th and 7th elements, as
%% they have been since OTP 18) or from the `%DynamicSupervisor{}' struct
%% of Elixir. A state of another shape gives `{error, unknown_state}'
%% rather than a guess.
-module(supertester_sup).

-export([is_supervisor/1, flags/1, restart_budget/1, children/2, start_order/1]).

-type flags() :: #{strategy := atom(), intensity := non_neg_integer(),
                   period := pos_integer()}.
-export_type([flags/0]).

%% @doc Whether `Pid' runs a supervisor (OTP's, or Elixir's
%% DynamicSupervisor and the supervisors built on it).
-spec is_supervisor(pid()) -> boolean().
is_supervisor(Pid) when is_pid(Pid) ->
    case proc_lib:translate_initial_call(Pid) of
        {supervisor, _CallbackModule, 1} -> true;
        _ -> false
    end.

%% @doc The supervisor's children, asked with a timeout:
%% `supervisor:which_children/1' waits forever, and a supervisor busy
%% starting a slow child must not hold a bounded wait past its deadline.
%% `{error, Reason}' when it is gone or does not answer in time.
-spec children(supertester_genserver:server(), timeout()) ->
          {ok, [{term(), pid() | restarting | undefined, worker | supervisor, term()}]}
          | {error, term()}.
children(Supervisor, Timeout) ->
    try gen_server:call(Supervisor, which_children, Timeout) of
        Children when is_list(Children) -> {ok, Children};
        Other -> {error, Other}
    catch
        exit:Reason -> {error, Reason}
    end.

%% @doc `[{Id, Pid}]' in start order (which_children lists the newest
%% child first).
-spec start_order([tuple()]) -> [{term(), term()}].
start_order(Children) ->
    [{Id, Pid} || {Id, Pid, _Type, _Mods} <- lists:reverse(Children)].

%% @doc The supervisor's strategy, restart intensity and period.
-spec flags(supertester_genserver:server()) -> {ok, flags()} | {error, term()}.
flags(Supervisor) ->
    try sys:get_state(Supervisor, 5000) of
        State -> from_state(State)
    catch
        exit:{Reason, _} -> {error, Reason}
    end.

%% @doc How many more restarts the supervisor tolerates now: its intensity
%% minus the restarts it counts within its period (OTP's `#state{}' keeps
%% their times, in monotonic seconds, as its 8th element). A supervisor
%% whose state cannot be read gives `{error, Reason}'.
-spec restart_budget(supertester_genserver:server()) -> {ok, non_neg_integer()} | {error, term()}.
restart_budget(Supervisor) ->
    try sys:get_state(Supervisor, 5000) of
        State when is_tuple(State), tuple_size(State) >= 8, element(1, State) =:= state,
                   is_list(element(8, State)) ->
            {ok, #{intensity := Intensity, period := Period}} = from_state(State),
            Now = erlang:monotonic_time(second),
            Recent = [T || T <- element(8, State), is_integer(T), Now - T < Period],
            {ok, max(0, Intensity - length(Recent))};
        State ->
            case from_state(State) of
                {ok, #{intensity := Intensity}} -> {ok, Intensity};
                Error -> Error
            end
    catch
        exit:{Reason, _} -> {error, Reason}
    end.

from_state(State) when is_tuple(State), tuple_size(State) >= 7, element(1, State) =:= state ->
    Strategy = element(3, State),
    Intensity = element(6, State),
    Period = element(7, State),
    case is_atom(Strategy) andalso is_integer(Intensity) andalso is_integer(Period) of
        true -> {ok, #{strategy => Strategy, intensity => Intensity, period => Period}};
        false -> {error, unknown_state}
    end;
from_state(#{'__struct__' := 'Elixir.DynamicSupervisor', strategy := Strategy,
             max_restarts := Intensity, max_seconds := Period}) ->
    {ok, #{strategy => Strategy, intensity => Intensity, period => Period}};
from_state(_Other) ->
    {error, unknown_state}.
