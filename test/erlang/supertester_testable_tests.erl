%% supertester_testable, the parse transform: gen_server modules are
%% compiled from source text with it, loaded, started and called.
-module(supertester_testable_tests).

-include_lib("eunit/include/eunit.hrl").

-define(SYNC, '__supertester_sync__').

%% Compiling -----------------------------------------------------------------

%% Compiles Source (the text of a module) with the transform and the
%% warnings the project asks for. Returns {ok, Module, Binary, Warnings} or
%% {error, Errors, Warnings}, as compile:forms/2 does with `return'.
compile_source(Source) ->
    compile_source(Source, []).

compile_source(Source, Options) ->
    compile:forms(forms(Source),
                  [return, binary, warn_unused_vars, warn_shadow_vars, warn_obsolete_guard,
                   warn_unused_import, warn_export_vars, warn_missing_spec_all,
                   nowarn_export_all, {parse_transform, supertester_testable} | Options]).

%% The abstract forms of Source, as epp would give them (with columns).
forms(Source) ->
    {ok, Tokens, End} = erl_scan:string(Source, {1, 1}),
    [parse_form(FormTokens) || FormTokens <- split_forms(Tokens)] ++ [{eof, End}].

parse_form(Tokens) ->
    {ok, Form} = erl_parse:parse_form(Tokens),
    Form.

split_forms([]) -> [];
split_forms(Tokens) ->
    {Form, [Dot | Rest]} = lists:splitwith(fun(T) -> element(1, T) =/= dot end, Tokens),
    [Form ++ [Dot] | split_forms(Rest)].

%% Compiles and loads Source, which must compile without a single warning.
load(Source) ->
    {ok, Module, Binary, Warnings} = compile_source(Source),
    ?assertEqual([], Warnings),
    {module, Module} = code:load_binary(Module, atom_to_list(Module) ++ ".erl", Binary),
    Module.

unload(Module) ->
    code:purge(Module),
    code:delete(Module),
    code:purge(Module).

%% Runs Test(Pid) on a fresh server of Source (initial state 0), then stops
%% and unloads it. Not linked: some tests crash the server on purpose.
with_server(Source, Test) ->
    Module = load(Source),
    {ok, Pid} = gen_server:start(Module, 0, []),
    try
        Test(Pid)
    after
        exit(Pid, kill),
        unload(Module)
    end.

%% A counter with its own call clauses and a catch-all clause.
counter(Name) ->
    "-module(" ++ Name ++ ").\n"
    "-behaviour(gen_server).\n"
    "-export([init/1, handle_call/3, handle_cast/2]).\n"
    "-spec init(integer()) -> {ok, integer()}.\n"
    "init(N) -> {ok, N}.\n"
    "-spec handle_call(term(), gen_server:from(), integer()) -> {reply, term(), integer()}.\n"
    "handle_call(get, _From, N) -> {reply, N, N};\n"
    "handle_call(_Other, _From, N) -> {reply, {error, unknown_call}, N}.\n"
    "-spec handle_cast(term(), integer()) -> {noreply, integer()}.\n"
    "handle_cast(inc, N) -> {noreply, N + 1};\n"
    "handle_cast({inc_and_tell, Pid}, N) -> Pid ! {handled, N + 1}, {noreply, N + 1}.\n".

%% A gen_server without handle_call/3.
cast_only(Name, Attributes) ->
    "-module(" ++ Name ++ ").\n"
    "-behaviour(gen_server).\n" ++ Attributes ++
    "-export([init/1, handle_cast/2]).\n"
    "-spec init(integer()) -> {ok, integer()}.\n"
    "init(N) -> {ok, N}.\n"
    "-spec handle_cast(term(), integer()) -> {noreply, integer()}.\n"
    "handle_cast(inc, N) -> {noreply, N + 1}.\n".

%% The transform's error for Source: {Location, Reason}.
transform_error(Source) ->
    {error, [{_File, [{Location, supertester_testable, Reason}]}], _} = compile_source(Source),
    {Location, Reason}.

%% Sync ------------------------------------------------------------------------

sync_returns_after_earlier_casts_test() ->
    with_server(counter("testable_t_sync"),
                fun(Pid) ->
                        [gen_server:cast(Pid, {inc_and_tell, self()}) || _ <- lists:seq(1, 100)],
                        ?assertEqual(ok, gen_server:call(Pid, ?SYNC)),
                        %% Each cast told us when it was handled, before the
                        %% reply: all 100 notes are already here, no waiting.
                        Notes = [receive {handled, N} -> N after 0 -> missing end
                                 || _ <- lists:seq(1, 100)],
                        ?assertEqual(lists:seq(1, 100), Notes),
                        ?assertEqual(100, sys:get_state(Pid))
                end).

return_state_test() ->
    with_server(counter("testable_t_state"),
                fun(Pid) ->
                        gen_server:cast(Pid, inc),
                        gen_server:cast(Pid, inc),
                        ?assertEqual({ok, 2}, gen_server:call(Pid, {?SYNC, [{return_state, true}]})),
                        ?assertEqual(ok, gen_server:call(Pid, {?SYNC, [{return_state, false}]})),
                        ?assertEqual(ok, gen_server:call(Pid, {?SYNC, []})),
                        ?assertEqual(ok, gen_server:call(Pid, {?SYNC, [{other, 1}]})),
                        %% A proplist: the bare atom means true, the first value wins.
                        ?assertEqual({ok, 2}, gen_server:call(Pid, {?SYNC, [return_state]})),
                        ?assertEqual(ok, gen_server:call(Pid, {?SYNC, [{return_state, false},
                                                                     {return_state, true}]}))
                end).

own_clauses_and_catch_all_still_answer_test() ->
    with_server(counter("testable_t_own"),
                fun(Pid) ->
                        gen_server:cast(Pid, inc),
                        ?assertEqual(1, gen_server:call(Pid, get)),
                        ?assertEqual({error, unknown_call}, gen_server:call(Pid, something_else)),
                        %% Not an option list: not a sync message, so the module's own.
                        ?assertEqual({error, unknown_call}, gen_server:call(Pid, {?SYNC, not_a_list})),
                        ?assertEqual(ok, gen_server:call(Pid, ?SYNC))
                end).

marker_is_exported_test() ->
    Module = load(counter("testable_t_marker")),
    try
        ?assert(erlang:function_exported(Module, '__supertester_testable__', 0)),
        ?assertEqual(true, Module:'__supertester_testable__'())
    after
        unload(Module)
    end.

%% Modules of every shape ------------------------------------------------------

module_without_handle_call_gets_one_test() ->
    Module = load(cast_only("testable_t_nocall", "")),
    try
        {ok, Pid} = gen_server:start_link(Module, 0, []),
        gen_server:cast(Pid, inc),
        ?assertEqual(ok, gen_server:call(Pid, ?SYNC)),
        ?assertEqual({ok, 1}, gen_server:call(Pid, {?SYNC, [{return_state, true}]})),
        ok = gen_server:stop(Pid),
        %% Nothing else is handled: a call would crash the server, as it
        %% would without handle_call/3 (checked directly, to keep the crash
        %% report out of the test output).
        ?assertError(function_clause, Module:handle_call(get, {self(), make_ref()}, 0))
    after
        unload(Module)
    end.

export_all_module_test() ->
    Source = "-module(testable_t_export_all).\n"
             "-behaviour(gen_server).\n"
             "-compile(export_all).\n"
             "-spec init(integer()) -> {ok, integer()}.\n"
             "init(N) -> {ok, N}.\n"
             "-spec handle_call(term(), gen_server:from(), integer()) ->\n"
             "          {reply, integer(), integer()}.\n"
             "handle_call(get, _From, N) -> {reply, N, N}.\n"
             "-spec handle_cast(term(), integer()) -> {noreply, integer()}.\n"
             "handle_cast(inc, N) -> {noreply, N + 1}.\n",
    with_server(Source, fun(Pid) ->
                                gen_server:cast(Pid, inc),
                                ?assertEqual(ok, gen_server:call(Pid, ?SYNC)),
                                ?assertEqual(1, gen_server:call(Pid, get))
                        end).

export_all_module_without_handle_call_test() ->
    Source = cast_only("testable_t_export_all_nocall", "-compile(export_all).\n"),
    with_server(Source, fun(Pid) ->
                                gen_server:cast(Pid, inc),
                                ?assertEqual({ok, 1},
                                             gen_server:call(Pid, {?SYNC, [{return_state, true}]}))
                        end).

already_exported_handle_call_is_not_exported_twice_test() ->
    %% The module exports handle_call/3 but does not define it.
    Source = "-module(testable_t_exported).\n"
             "-behaviour(gen_server).\n"
             "-export([init/1, handle_call/3, handle_cast/2]).\n"
             "-spec init(integer()) -> {ok, integer()}.\n"
             "init(N) -> {ok, N}.\n"
             "-spec handle_cast(term(), integer()) -> {noreply, integer()}.\n"
             "handle_cast(inc, N) -> {noreply, N + 1}.\n",
    with_server(Source, fun(Pid) -> ?assertEqual(ok, gen_server:call(Pid, ?SYNC)) end).

american_spelling_of_behaviour_test() ->
    Source = cast_only("testable_t_behavior", ""),
    with_server(re:replace(Source, "behaviour", "behavior", [{return, list}]),
                fun(Pid) -> ?assertEqual(ok, gen_server:call(Pid, ?SYNC)) end).

transform_given_twice_changes_nothing_more_test() ->
    {ok, _, _, Warnings} =
        compile_source(counter("testable_t_twice"), [{parse_transform, supertester_testable}]),
    ?assertEqual([], Warnings),
    Forms = supertester_testable:parse_transform(forms(counter("testable_t_twice")), []),
    ?assertEqual(Forms, supertester_testable:parse_transform(Forms, [])).

%% Where the new code sits -----------------------------------------------------

new_clauses_come_first_on_the_line_of_handle_call_test() ->
    Forms = supertester_testable:parse_transform(forms(counter("testable_t_lines")), []),
    [{function, Anno, handle_call, 3, Clauses}] =
        [F || {function, _, handle_call, 3, _} = F <- Forms],
    ?assertEqual({7, 1}, erl_anno:location(Anno)),
    ?assertEqual(4, length(Clauses)),
    [Sync, SyncOptions, Own | _] = Clauses,
    ?assertMatch({clause, _, [{atom, _, ?SYNC}, {var, _, '_From'}, {var, _, 'State'}], [], _},
                 Sync),
    ?assertMatch({clause, _, [{tuple, _, [{atom, _, ?SYNC}, _]} | _], [_], _}, SyncOptions),
    ?assertMatch({clause, _, [{atom, _, get} | _], [], _}, Own),
    ?assertEqual([7], lists:usort([line(C) || C <- [Sync, SyncOptions]])).

new_function_sits_on_the_module_line_test() ->
    Forms = supertester_testable:parse_transform(forms(cast_only("testable_t_lines2", "")), []),
    [{function, Anno, handle_call, 3, [_, _]}] =
        [F || {function, _, handle_call, 3, _} = F <- Forms],
    ?assertEqual(1, erl_anno:line(Anno)),
    %% The export sits right after -module, before any function.
    [{attribute, _, module, _}, {attribute, _, export, Exports} | _] = Forms,
    ?assertEqual([{handle_call, 3}, {'__supertester_testable__', 0}], Exports),
    ?assertMatch({eof, _}, lists:last(Forms)).

line(Clause) -> erl_anno:line(element(2, Clause)).

%% Compile errors --------------------------------------------------------------

not_a_gen_server_is_a_compile_error_test() ->
    Source = "-module(testable_t_plain).\n"
             "-export([f/0]).\n"
             "-spec f() -> ok.\n"
             "f() -> ok.\n",
    {Location, Reason} = transform_error(Source),
    ?assertEqual({1, 2}, Location),             % the -module attribute
    ?assertEqual({not_a_gen_server, testable_t_plain}, Reason),
    Message = supertester_testable:format_error(Reason),
    ?assertNotEqual(nomatch, string:find(Message, "testable_t_plain is not a gen_server")),
    ?assertNotEqual(nomatch, string:find(Message, "-behaviour(gen_server)")).

handle_call_without_behaviour_is_accepted_test() ->
    %% handle_call/3 is enough to call it a gen_server.
    Source = re:replace(counter("testable_t_nobehaviour"), "-behaviour\\(gen_server\\)\\.\n", "",
                        [{return, list}]),
    with_server(Source, fun(Pid) -> ?assertEqual(ok, gen_server:call(Pid, ?SYNC)) end).

existing_sync_clause_is_a_compile_error_test() ->
    Source = "-module(testable_t_dup).\n"
             "-behaviour(gen_server).\n"
             "-export([init/1, handle_call/3, handle_cast/2]).\n"
             "init(N) -> {ok, N}.\n"
             "handle_call(get, _From, N) -> {reply, N, N};\n"
             "handle_call({'__supertester_sync__', _}, _From, N) -> {reply, ok, N}.\n"
             "handle_cast(inc, N) -> {noreply, N + 1}.\n",
    {Location, Reason} = transform_error(Source),
    ?assertEqual({6, 1}, Location),
    ?assertEqual({already_handles_sync, testable_t_dup}, Reason),
    ?assertNotEqual(nomatch, string:find(supertester_testable:format_error(Reason),
                                         "already has a clause for '__supertester_sync__'")).

%% The attribute form, compiled by rebar3 -------------------------------------

fixture_compiled_with_the_attribute_test() ->
    {ok, Pid} = testable_fixture_server:start_link(),
    try
        testable_fixture_server:add(Pid, 5),
        testable_fixture_server:add(Pid, 7),
        ?assertEqual(ok, gen_server:call(Pid, ?SYNC)),
        ?assertEqual(12, sys:get_state(Pid)),
        ?assertEqual({ok, 12}, gen_server:call(Pid, {?SYNC, [{return_state, true}]})),
        ?assertEqual(12, testable_fixture_server:total(Pid)),
        ?assertEqual({error, unknown_call}, gen_server:call(Pid, nonsense)),
        ?assert(erlang:function_exported(testable_fixture_server, '__supertester_testable__', 0))
    after
        unlink(Pid),
        exit(Pid, kill)
    end.
