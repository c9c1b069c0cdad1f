# Shared by scripts/demo and scripts/test. Sourced, not run.
# Sets UV to a command that runs uv, installing uv with pip when the machine has none.

ensure_uv() {
    if command -v uv >/dev/null 2>&1 && uv --version >/dev/null 2>&1; then
        UV=(uv)
        return
    fi
    if ! python3 -m uv --version >/dev/null 2>&1; then
        echo "==> uv is not installed: installing it with pip"
        python3 -m pip install --quiet --disable-pip-version-check uv \
            || python3 -m pip install --quiet --disable-pip-version-check --user uv
    fi
    # `python3 -m uv` works whether or not pip put the uv binary on PATH.
    UV=(python3 -m uv)
}

uv_sync() {
    echo "==> uv sync --frozen"
    "${UV[@]}" sync --frozen
}
