%% @doc The one module that owns every NIF of the C core.
%%
%% Nothing here is meant to be called directly: the public modules
%% ({@link supertester_hist}, {@link supertester_stats}, the performance
%% helpers) validate their input and call these. Every NIF still validates
%% its own arguments: a wrong term raises `{badarg, Term}' naming the
%% offending term, a domain failure returns `{error, Reason}', and no input
%% crashes or hangs the VM.
%%
%% The library is `priv/supertester_nif.so', found through
%% `code:priv_dir(supertester)' or, when the application is not on the code
%% path by name (an escript, a bare `-pa'), the `priv' directory beside this
%% module's `ebin'. When it cannot be loaded the module fails to load with
%% `{error, {load_failed, Path, Reason}}'.
-module(supertester_nif).

-export([hist_new/2, hist_record/2, hist_record_n/3, hist_reset/1,
         hist_merge/2, hist_summary/1, hist_percentiles/2, hist_buckets/1,
         hist_info/1]).
-export([stats_summary/2, stats_regression/2, stats_welch/3]).
-export([sampler_new/1, sampler_push/3, sampler_stats/1, sampler_window/1]).
-export([iso_new_id/0, iso_name_acquire/1, iso_name_release/2, iso_name_stats/0,
         iso_record_new/0, iso_record_watch/3, iso_record_track/4, iso_record_track_process/4,
         iso_record_untrack/3, iso_record_entries/1, iso_record_take/1,
         iso_record_counts/1, iso_snapshot/3, iso_snapshot_diff/4]).
-export([enabled/3, trace/5, trace_session_new/3, trace_session_drain/2,
         trace_session_stop/1, trace_session_info/1, supervision_derive/3]).
-export([chaos_plan/1, chaos_plan_parse/1, chaos_rng_new/1, chaos_rng_bernoulli/2,
         chaos_rng_between/3, chaos_interleave/2, chaos_ddmin_new/1, chaos_ddmin_next/1,
         chaos_ddmin_report/2, chaos_ddmin_result/1]).
-export([library_path/0]).

-on_load(load/0).

-define(NOT_LOADED, erlang:nif_error({not_loaded, ?MODULE})).

%% @doc Where the NIF library is looked for (without the extension).
-spec library_path() -> file:filename().
library_path() ->
    filename:join(priv_dir(), "supertester_nif").

load() ->
    Path = library_path(),
    case erlang:load_nif(Path, 0) of
        ok -> ok;
        {error, Reason} -> {error, {load_failed, Path, Reason}}
    end.

priv_dir() ->
    case code:priv_dir(supertester) of
        {error, bad_name} ->
            Ebin = filename:dirname(code:which(?MODULE)),
            filename:join(filename:dirname(Ebin), "priv");
        Dir ->
            Dir
    end.

%% Histograms (c_src/nif/nif_hist.c)
hist_new(_HighestTrackable, _SignificantDigits) -> ?NOT_LOADED.
hist_record(_Hist, _Value) -> ?NOT_LOADED.
hist_record_n(_Hist, _Value, _Count) -> ?NOT_LOADED.
hist_reset(_Hist) -> ?NOT_LOADED.
hist_merge(_Dst, _Src) -> ?NOT_LOADED.
hist_summary(_Hist) -> ?NOT_LOADED.
hist_percentiles(_Hist, _Percentiles) -> ?NOT_LOADED.
hist_buckets(_Hist) -> ?NOT_LOADED.
hist_info(_Hist) -> ?NOT_LOADED.

%% Statistics (c_src/nif/nif_stats.c)
stats_summary(_Numbers, _Confidence) -> ?NOT_LOADED.
stats_regression(_Points, _Confidence) -> ?NOT_LOADED.
stats_welch(_SampleA, _SampleB, _Confidence) -> ?NOT_LOADED.

%% Time-series samplers (c_src/nif/nif_sampler.c)
sampler_new(_Capacity) -> ?NOT_LOADED.
sampler_push(_Sampler, _Time, _Value) -> ?NOT_LOADED.
sampler_stats(_Sampler) -> ?NOT_LOADED.
sampler_window(_Sampler) -> ?NOT_LOADED.

%% Isolation (c_src/nif/nif_isolation.c)
iso_new_id() -> ?NOT_LOADED.
iso_name_acquire(_PoolKey) -> ?NOT_LOADED.
iso_name_release(_PoolKey, _Slot) -> ?NOT_LOADED.
iso_name_stats() -> ?NOT_LOADED.
iso_record_new() -> ?NOT_LOADED.
iso_record_watch(_Record, _Owner, _Janitor) -> ?NOT_LOADED.
iso_record_track(_Record, _Kind, _Key, _Info) -> ?NOT_LOADED.
iso_record_track_process(_Record, _Pid, _Info, _Name) -> ?NOT_LOADED.
iso_record_untrack(_Record, _Kind, _Key) -> ?NOT_LOADED.
iso_record_entries(_Record) -> ?NOT_LOADED.
iso_record_take(_Record) -> ?NOT_LOADED.
iso_record_counts(_Record) -> ?NOT_LOADED.
iso_snapshot(_Processes, _EtsTables, _Names) -> ?NOT_LOADED.
iso_snapshot_diff(_Snapshot, _Processes, _EtsTables, _Names) -> ?NOT_LOADED.

%% Tracing (c_src/nif/nif_trace.c): this module is the erl_tracer module
%% of every supertester_trace session. (The erl_tracer behaviour attribute is
%% left out: OTP 25 warns about it.)
enabled(_TraceTag, _Session, _Tracee) -> ?NOT_LOADED.
trace(_TraceTag, _Session, _Tracee, _TraceTerm, _Opts) -> ?NOT_LOADED.
trace_session_new(_Owner, _Controller, _Config) -> ?NOT_LOADED.
trace_session_drain(_Session, _Max) -> ?NOT_LOADED.
trace_session_stop(_Session) -> ?NOT_LOADED.
trace_session_info(_Session) -> ?NOT_LOADED.

%% Supervision events (c_src/nif/nif_supervision.c)
supervision_derive(_Supervisor, _Children, _Events) -> ?NOT_LOADED.

%% Chaos (c_src/nif/nif_chaos.c)
chaos_plan(_Params) -> ?NOT_LOADED.
chaos_plan_parse(_PlanString) -> ?NOT_LOADED.
chaos_rng_new(_Seed) -> ?NOT_LOADED.
chaos_rng_bernoulli(_Rng, _P) -> ?NOT_LOADED.
chaos_rng_between(_Rng, _Lo, _Hi) -> ?NOT_LOADED.
chaos_interleave(_Rng, _ScriptLengths) -> ?NOT_LOADED.
chaos_ddmin_new(_N) -> ?NOT_LOADED.
chaos_ddmin_next(_Ddmin) -> ?NOT_LOADED.
chaos_ddmin_report(_Ddmin, _Failed) -> ?NOT_LOADED.
chaos_ddmin_result(_Ddmin) -> ?NOT_LOADED.
