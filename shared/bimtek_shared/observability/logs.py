"""One log format for every process: time, level, service, logger, message.

Log lines never carry a NIK, a name or a phone number: code logs ids, codes and exception types.
"""
from __future__ import annotations

import logging.config


def configure_logging(service: str, level: str) -> None:
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {
                "plain": {"format": f"%(asctime)s %(levelname)s {service} %(name)s: %(message)s"}
            },
            "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain"}},
            "root": {"level": level, "handlers": ["stderr"]},
            # nameko logs every failed worker with a traceback, expected domain errors included;
            # ours are logged once, as one line, by Observability. Unexpected errors stay ERROR.
            "loggers": {
                "nameko.containers": {"level": "ERROR"},
                # aiormq (the gateway's AMQP client) logs every frame it sends at DEBUG: message
                # bodies, NIKs of registrations among them. DEBUG is for our code, never for that.
                "aiormq": {"level": "INFO"},
            },
        }
    )
