%% @doc A parse transform that makes an Erlang gen_server testable with
%% Supertester: the Erlang equivalent of `use Supertester.TestableGenServer'.
%%
%% ```
%% -module(my_server).
%% -behaviour(gen_server).
%% -compile({parse_transform, supertester_testable}).
%% '''
%%
%% (or `{parse_transform, supertester_testable}' in `erl_opts', for every
%% module of a build). The transform puts two clauses at the head of
%% `handle_call/3':
%%
%% ```
%% handle_call('__supertester_sync__', _From, State) ->
%%     {reply, ok, State};
%% handle_call({'__supertester_sync__', Options}, _From, State) when is_list(Options) ->
%%     case proplists:get_value(return_state, Options, false) of
%%         true -> {reply, {ok, State}, State};
%%         _ -> {reply, ok, State}
%%     end;
%% ...the module's own clauses, unchanged...
%% '''
%%
%% A test then waits for the server to handle everything sent to it before,
%% without sleeping:
%%
%% ```
%% ok = gen_server:cast(Pid, {add, 5}),
%% ok = gen_server:call(Pid, '__supertester_sync__'),
%% {ok, State} = gen_server:call(Pid, {'__supertester_sync__', [{return_state, true}]}).
%% '''
%%
%% `supertester_genserver:cast_and_sync/2' does the first two lines in one.
%% The replies are those of the Elixir version (an Elixir keyword list is a
%% proplist), so `Supertester.GenServerHelpers' works on Erlang servers too.
%%
%% Details:
%% <ul>
%% <li>The module's own clauses keep their order after the two new ones, so
%%   a catch-all clause still answers every other call.</li>
%% <li>A module without `handle_call/3' but with `-behaviour(gen_server)'
%%   gets one made of the two clauses only (any other call then crashes the
%%   server with `function_clause'), and it is exported.</li>
%% <li>The transform also adds and exports `__supertester_testable__/0',
%%   which tells `cast_and_sync' that the server answers the sync call.</li>
%% <li>The new clauses carry the line of the module's first `handle_call'
%%   clause (of `-module' for a new function), so stack traces and
%%   coverage point somewhere sensible. They compile without warnings,
%%   `export_all' modules included.</li>
%% <li>Running the transform twice on a module changes nothing the second
%%   time.</li>
%% </ul>
%%
%% It is a compile error (with the file and line) when the module is not a
%% gen_server (no `-behaviour(gen_server)' and no `handle_call/3'), or when
%% its `handle_call/3' already has a clause for ``'__supertester_sync__''',
%% which the new clause would silently hide.
-module(supertester_testable).

-export([parse_transform/2, format_error/1]).

-type forms() :: [erl_parse:abstract_form() | erl_parse:form_info()].
-type error_info() :: {erl_anno:location(), module(), term()}.

-define(SYNC, '__supertester_sync__').
-define(MARKER, '__supertester_testable__').

%% The added code, as source text: easier to read than abstract forms. It
%% is parsed once per transformed module, then given the line it belongs to.
-define(SYNC_CLAUSES,
        "handle_call('__supertester_sync__', _From, State) ->\n"
        "    {reply, ok, State};\n"
        "handle_call({'__supertester_sync__', Options}, _From, State) when is_list(Options) ->\n"
        "    case proplists:get_value(return_state, Options, false) of\n"
        "        true -> {reply, {ok, State}, State};\n"
        "        _ -> {reply, ok, State}\n"
        "    end.\n").
-define(MARKER_FUNCTION, "'__supertester_testable__'() -> true.\n").
%% Specs for the functions the transform adds, so that modules compiled
%% with warn_missing_spec stay warning-free.
-define(MARKER_SPEC, "-spec '__supertester_testable__'() -> true.\n").
-define(HANDLE_CALL_SPEC,
        "-spec handle_call(term(), gen_server:from(), State) ->\n"
        "          {reply, ok | {ok, State}, State}.\n").

%% @doc The transform, called by the compiler. Returns the changed forms,
%% or an error the compiler reports as `File:Line: Message'.
-spec parse_transform(forms(), Options :: [term()]) ->
          forms() | {error, [{file:filename(), [error_info()]}], []}.
parse_transform(Forms, _Options) ->
    case {find_function(?MARKER, 0, Forms), module_names(Forms)} of
        {{ok, _}, _} ->
            %% Already transformed (the transform was given twice).
            Forms;
        {_, []} ->
            %% No -module: leave the compiler to say so.
            Forms;
        {error, _} ->
            case transform(Forms) of
                {ok, NewForms} -> NewForms;
                {error, Anno, Reason} ->
                    Error = {erl_anno:location(Anno), ?MODULE, Reason},
                    {error, [{source_file(Forms), [Error]}], []}
            end
    end.

transform(Forms) ->
    ModuleAnno = module_anno(Forms),
    case find_function(handle_call, 3, Forms) of
        {ok, {function, Anno, handle_call, 3, Clauses} = Old} ->
            case [C || C <- Clauses, handles_sync(C)] of
                [] ->
                    New = {function, Anno, handle_call, 3, sync_clauses(Anno) ++ Clauses},
                    {ok, add_functions(marker(ModuleAnno), [{?MARKER, 0}], ModuleAnno,
                                       replace(Old, New, Forms))};
                [Clause | _] ->
                    {error, element(2, Clause), {already_handles_sync, module_name(Forms)}}
            end;
        error ->
            case is_gen_server(Forms) of
                true ->
                    HandleCall = [parse(?HANDLE_CALL_SPEC, ModuleAnno),
                                  {function, ModuleAnno, handle_call, 3, sync_clauses(ModuleAnno)}],
                    {ok, add_functions(HandleCall ++ marker(ModuleAnno),
                                       [{handle_call, 3}, {?MARKER, 0}], ModuleAnno, Forms)};
                false ->
                    {error, ModuleAnno, {not_a_gen_server, module_name(Forms)}}
            end
    end.

%% @doc The message of a transform error, for the compiler.
-spec format_error(term()) -> string().
format_error({not_a_gen_server, Module}) ->
    lists:flatten(
      io_lib:format("supertester_testable: ~p is not a gen_server: it has no "
                    "-behaviour(gen_server) and no handle_call/3. Add them, or remove "
                    "the parse transform", [Module]));
format_error({already_handles_sync, Module}) ->
    lists:flatten(
      io_lib:format("supertester_testable: ~p:handle_call/3 already has a clause for "
                    "'__supertester_sync__'; the parse transform adds its own before it. "
                    "Remove this clause, or the parse transform", [Module])).

%% Forms -------------------------------------------------------------------

sync_clauses(Anno) ->
    {function, _, handle_call, 3, Clauses} = parse(?SYNC_CLAUSES, Anno),
    Clauses.

marker(Anno) ->
    [parse(?MARKER_SPEC, Anno), parse(?MARKER_FUNCTION, Anno)].

%% Parses one form and gives every node of it the annotation Anno.
parse(Text, Anno) ->
    {ok, Tokens, _} = erl_scan:string(Text),
    {ok, Form} = erl_parse:parse_form(Tokens),
    erl_parse:map_anno(fun(_) -> Anno end, Form).

%% Does a clause of the module's own handle_call/3 take a sync message?
handles_sync({clause, _, [{atom, _, ?SYNC} | _], _, _}) -> true;
handles_sync({clause, _, [{tuple, _, [{atom, _, ?SYNC} | _]} | _], _, _}) -> true;
handles_sync(_) -> false.

%% New functions go at the end of the module; their export goes right after
%% -module, since an export may not follow a function definition.
add_functions(Functions, Exports, Anno, Forms) ->
    %% Forms made by hand for compile:forms/2 may have no eof form.
    {Body, Eof} = lists:partition(fun(F) -> element(1, F) =/= eof end, Forms),
    %% Exporting a function twice is a warning: skip what the module exports.
    Exported = lists:append([Fs || {attribute, _, export, Fs} <- Forms]),
    case Exports -- Exported of
        [] -> Body ++ Functions ++ Eof;
        New -> insert_after_module({attribute, Anno, export, New}, Body) ++ Functions ++ Eof
    end.

insert_after_module(Form, [{attribute, _, module, _} = Module | Rest]) ->
    [Module, Form | Rest];
insert_after_module(Form, [Other | Rest]) ->
    [Other | insert_after_module(Form, Rest)].

replace(Old, New, Forms) ->
    [case F of Old -> New; _ -> F end || F <- Forms].

find_function(Name, Arity, Forms) ->
    case [F || {function, _, N, A, _} = F <- Forms, N =:= Name, A =:= Arity] of
        [F | _] -> {ok, F};
        [] -> error
    end.

is_gen_server(Forms) ->
    lists:any(fun({attribute, _, behaviour, gen_server}) -> true;
                 ({attribute, _, behavior, gen_server}) -> true;
                 (_) -> false
              end, Forms).

module_anno(Forms) ->
    hd([Anno || {attribute, Anno, module, _} <- Forms]).

module_name(Forms) ->
    hd(module_names(Forms)).

module_names(Forms) ->
    [Name || {attribute, _, module, Name} <- Forms].

%% The file epp names first; compile:forms/2 of hand-made forms has none.
source_file(Forms) ->
    case [File || {attribute, _, file, {File, _}} <- Forms] of
        [File | _] -> File;
        [] -> atom_to_list(module_name(Forms)) ++ ".erl"
    end.
