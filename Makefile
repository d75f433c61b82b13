# The two commands of the README: `make run` (set up and open the app) and `make test` (what CI runs).
SHELL := /bin/bash
.DEFAULT_GOAL := run

APT_APP   := libwebkit2gtk-4.1-dev build-essential pkg-config libxdo-dev libssl-dev libayatana-appindicator3-dev librsvg2-dev
APT_TEST  := xvfb xauth webkit2gtk-driver
TAURI_DRIVER_VERSION := 2.1.0
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test deps test-deps ui ui-test rust-test e2e app-debug

## run: install what is missing, build the UI and the app (release), open the window
run: deps ui
	cargo build --release -p kotodama-app
	./target/release/kotodama-app

## test: Rust tests of every crate, the UI's unit tests, the end-to-end suite in the real window
test: deps test-deps ui rust-test ui-test e2e

# Installs only the Debian packages that are missing (a no-op on a machine that has them).
deps:
	@missing=$$(for p in $(APT_APP); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then echo "installing: $$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; fi
	@[ -d ui/node_modules ] || (cd ui && npm ci --no-audit --no-fund)

test-deps:
	@missing=$$(for p in $(APT_TEST); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then echo "installing: $$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; fi
	@tauri-driver --help >/dev/null 2>&1 || cargo install tauri-driver --version $(TAURI_DRIVER_VERSION) --locked

ui:
	cd ui && npm run build

ui-test:
	cd ui && npm test

rust-test:
	cargo test --workspace

app-debug: ui
	cargo build -p kotodama-app

# The window under a virtual X server, driven through tauri-driver + WebKitWebDriver.
e2e: app-debug
	cd tests/e2e && xvfb-run -a --server-args="-screen 0 1280x860x24" npm test
