"""Runs the llama.cpp server (PyPI `xllamacpp`) for avb's LLM tests until SIGTERM/SIGINT.

    python serve.py <model.gguf> <port> <alias>

Loopback only, one slot, one thread, a small context (so "context too long" is reachable), chat template
`gemma` through llama.cpp's built-in templates (`use_jinja=False`: with Jinja on, this model's embedded
template turns every prompt into the word "gemma"), embeddings with mean pooling on the same model.
Started by scripts/services.d/llamacpp.sh; readiness is `GET /health` 200 (503 while the model loads).
"""

import signal
import sys
import threading

import xllamacpp as xlc

CONTEXT_TOKENS = 2048


def main() -> int:
    if len(sys.argv) != 4:
        print("usage: serve.py <model.gguf> <port> <alias>", file=sys.stderr)
        return 2
    model, port, alias = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    params = xlc.CommonParams()
    params.model.path = model
    params.model_alias = {alias}
    params.hostnames = ["127.0.0.1"]
    params.port = port
    params.n_ctx = CONTEXT_TOKENS
    params.n_parallel = 1
    params.cpuparams.n_threads = 1
    params.cpuparams_batch.n_threads = 1
    params.chat_template = "gemma"
    params.use_jinja = False
    params.embedding = True
    params.pooling_type = xlc.llama_pooling_type.LLAMA_POOLING_TYPE_MEAN
    params.offline = True
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server = xlc.Server(params)
    print(f"xllamacpp {xlc.__version__} listening on {server.listening_address}", flush=True)
    stop.wait()
    del server
    return 0


if __name__ == "__main__":
    sys.exit(main())
