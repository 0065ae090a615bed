%% The product catalog: prices by SKU. It keeps the same data twice, as a
%% list and as a map, so the two lookups can be compared.
-module(shop_catalog).
-behaviour(gen_server).

-export([start_link/1, price/2, sku/1]).
-export([init/1, handle_call/3, handle_cast/2]).

start_link(Products) -> gen_server:start_link({local, ?MODULE}, ?MODULE, Products, []).

%% price(list | map, Sku) -> {ok, Price} | error
price(Index, Sku) -> gen_server:call(?MODULE, {price, Index, Sku}).

sku(N) -> list_to_binary(io_lib:format("SKU-~6..0b", [N])).

init(Products) ->
    Pairs = [{sku(N), N * 100 + 99} || N <- lists:seq(1, Products)],
    {ok, #{list => Pairs, map => maps:from_list(Pairs)}}.

handle_call({price, list, Sku}, _From, State = #{list := Pairs}) ->
    Reply = case lists:keyfind(Sku, 1, Pairs) of
                {Sku, Price} -> {ok, Price};
                false -> error
            end,
    {reply, Reply, State};
handle_call({price, map, Sku}, _From, State = #{map := Map}) ->
    {reply, maps:find(Sku, Map), State}.

handle_cast(_Msg, State) -> {noreply, State}.
