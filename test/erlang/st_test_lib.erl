%% Helpers shared by the EUnit suites.
-module(st_test_lib).

-export([failure_message/1, contains/2]).

%% The message of the assertion failure Fun raises; an error if it returns.
failure_message(Fun) ->
    try Fun() of
        Other -> error({expected_failure, Other})
    catch
        error:{assertion_failed, #{message := Message}} -> binary_to_list(Message)
    end.

contains(Text, Part) -> string:find(Text, Part) =/= nomatch.
