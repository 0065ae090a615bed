# Supertester entry points.
#
#   make setup   install the Debian packages the build needs (root or sudo)
#   make all     build the C core, the NIF, and the Erlang and Elixir code
#   make test    setup + build + every suite: Check (plain and ASan/UBSan),
#                EUnit, ExUnit, dialyzer; ends with their summary lines
#   make demo    setup + build + the demo on the example application
#   make bench   setup + build + benchmarks, printed as side-by-side ratios
#   make clean   remove every build output

.PHONY: setup all test demo bench clean

setup:
	@scripts/setup.sh

all: setup
	rebar3 compile
	MIX_ENV=test mix compile

test: setup
	@scripts/test.sh

demo: setup
	@scripts/demo.sh

bench: all
	$(MAKE) -C bench run

clean:
	$(MAKE) -C c_src clean
	-$(MAKE) -C bench clean
	rm -rf _build deps erl_crash.dump
