"""Experiment hooks for the benchmark only; loaded when this folder is on PYTHONPATH (see
``bench/consumer_variants.py`` and ``bench/run.py --service-env``). They let a measurement try a
proposed change without editing the product code:

- ``BENCH_NO_PRE_PING=1``: the services' engine is built without ``pool_pre_ping``;
- ``BENCH_EXECUTEMANY_BATCH=1``: the services' engine is built with psycopg2
  ``executemany_mode="values_plus_batch"``, so an executemany that SQLAlchemy does not turn into
  one multi-row INSERT (e.g. ``INSERT .. ON CONFLICT DO NOTHING`` without RETURNING, the
  repositories' ``add_all``) goes out in pages of 100 statements per round trip instead of one
  round trip per row;
- ``BENCH_BATCH_WAIT_MS=<ms>``: ``@event_consumer``'s default ``batch_wait_ms``;

Nothing is imported here before the service's own eventlet monkey patching: each patch is applied
when its module is first imported.
"""
import importlib.abc
import importlib.util
import os
import sys


def _after_import(target, patch):
    class _PatchOnImport(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target_module=None):
            if name != target:
                return None
            sys.meta_path.remove(self)
            spec = importlib.util.find_spec(name)
            original = spec.loader.exec_module

            def exec_module(module):
                original(module)
                patch(module)

            spec.loader.exec_module = exec_module
            return spec

    sys.meta_path.insert(0, _PatchOnImport())


_ENGINE_KWARGS = {}
if os.environ.get("BENCH_NO_PRE_PING") == "1":
    _ENGINE_KWARGS["pool_pre_ping"] = False
if os.environ.get("BENCH_EXECUTEMANY_BATCH") == "1":
    _ENGINE_KWARGS["executemany_mode"] = "values_plus_batch"
if _ENGINE_KWARGS:
    def _engine_kwargs(module):
        real_create_engine = module.create_engine

        def create_engine(*args, **kwargs):
            kwargs.update(_ENGINE_KWARGS)
            return real_create_engine(*args, **kwargs)

        module.create_engine = create_engine

    _after_import("bimtek_shared.nameko_ext.database", _engine_kwargs)

if os.environ.get("BENCH_BATCH_WAIT_MS"):
    def _batch_wait(module):
        wait_ms = float(os.environ["BENCH_BATCH_WAIT_MS"])
        original_init = module.EventConsumer.__init__

        def __init__(self, event_type, **kwargs):
            kwargs["batch_wait_ms"] = wait_ms
            original_init(self, event_type, **kwargs)

        module.EventConsumer.__init__ = __init__

    _after_import("bimtek_shared.nameko_ext.event_consumer", _batch_wait)
