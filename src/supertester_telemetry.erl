%% @doc The toolkit's one way out to `:telemetry'.
%%
%% Supertester takes no hex dependency, so it cannot require the telemetry
%% application. When a project has it, the events go to
%% `telemetry:execute/3' under the `[supertester | ...]' prefix, as in
%% Supertester 0.5.1:
%% <ul>
%% <li>`[supertester, concurrent, scenario, start | stop]': a harness
%%   scenario's lifecycle (stop has `duration_ms' and `status');</li>
%% <li>`[supertester, concurrent, mailbox, sample]': its mailbox report;</li>
%% <li>`[supertester, chaos, start | stop]': its chaos hook;</li>
%% <li>`[supertester, performance, scenario, measured]': its measurement.</li>
%% </ul>
%% Without telemetry, emitting does nothing. A handler that raises is
%% telemetry's business (it detaches it); nothing here can fail a test.
-module(supertester_telemetry).

-export([emit/3]).

-spec emit([atom()], map(), map()) -> ok.
emit(Event, Measurements, Metadata) when is_list(Event), is_map(Measurements), is_map(Metadata) ->
    case code:ensure_loaded(telemetry) of
        {module, telemetry} ->
            case erlang:function_exported(telemetry, execute, 3) of
                true -> _ = (catch apply(telemetry, execute, [[supertester | Event], Measurements, Metadata])), ok;
                false -> ok
            end;
        _ ->
            ok
    end.
