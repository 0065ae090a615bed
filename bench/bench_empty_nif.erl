%% @doc Stub of the benchmark's empty NIF (bench_empty_nif.c): the baseline
%% cost of calling a NIF from Erlang with the arguments of
%% `supertester_nif:hist_record/2'.
%%
%% The library `bench_empty_nif.so' is looked for beside this module's beam
%% (bench/Makefile puts both in `_build/bench'), or at the path (without the
%% extension) in the environment variable `BENCH_EMPTY_NIF_PATH'. When it
%% cannot be loaded this module fails to load with
%% `{error, {load_failed, Path, Reason}}', which the code server logs; the
%% benchmark driver then says which file it expected and how to build it.
-module(bench_empty_nif).

-export([empty/2, enabled/3, trace/5, library_path/0]).

-on_load(load/0).

%% @doc Does nothing with `Term'; `Value' must be a non-negative integer
%% that fits in 64 bits. Returns `ok'.
-spec empty(term(), non_neg_integer()) -> ok.
empty(_Term, _Value) ->
    erlang:nif_error({not_loaded, ?MODULE}).

%% @doc As a tracer module: discards every event (the floor of tracing),
%% or with the tracer state `trace' passes every event to a `trace/5' that
%% does nothing.
-spec enabled(term(), term(), term()) -> discard | trace.
enabled(_Tag, _State, _Tracee) ->
    erlang:nif_error({not_loaded, ?MODULE}).

-spec trace(term(), term(), term(), term(), term()) -> ok.
trace(_Tag, _State, _Tracee, _Term, _Opts) ->
    erlang:nif_error({not_loaded, ?MODULE}).

%% @doc Where the library is looked for (without the extension).
-spec library_path() -> file:filename().
library_path() ->
    case os:getenv("BENCH_EMPTY_NIF_PATH") of
        Path when is_list(Path), Path =/= "" ->
            Path;
        _ ->
            filename:join(filename:dirname(code:which(?MODULE)), "bench_empty_nif")
    end.

load() ->
    Path = library_path(),
    case erlang:load_nif(Path, 0) of
        ok -> ok;
        {error, Reason} -> {error, {load_failed, Path, Reason}}
    end.
