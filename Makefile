.PHONY: run test bench
run:  ## Run the portal with demo data
	./scripts/run
test:  ## Lint, migration check and the whole test suite
	./scripts/test
bench:  ## Benchmarks: prints each ratio against its goal (see bench/README.md)
	./bench/run
