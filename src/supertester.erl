%% @doc Supertester: an OTP testing toolkit whose engine is written in C.
%%
%% Erlang users call the per-area modules directly:
%% <ul>
%% <li>{@link supertester_performance}: timing, memory, reductions, leak and
%%   mailbox checks, statistically sound comparisons;</li>
%% <li>{@link supertester_hist}: the C latency histogram;</li>
%% <li>{@link supertester_stats}: summaries, regression, Welch's t-test.</li>
%% </ul>
%% Elixir users get the same functions under the published module names
%% (`Supertester.PerformanceHelpers' and so on).
-module(supertester).

-export([version/0]).

%% @doc The version of the library, as in its application resource file.
-spec version() -> binary().
version() ->
    _ = application:load(supertester),
    {ok, Vsn} = application:get_key(supertester, vsn),
    list_to_binary(Vsn).
