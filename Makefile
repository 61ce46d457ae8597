.PHONY: run test bench
run:  ## Run the portal with demo data
	./scripts/run
test:  ## Lint, migration check and the whole test suite
	./scripts/test
