"""Run services over HTTP with uvicorn: one service alone, or all of them in one process."""

import uvicorn
from fastapi import FastAPI

from servicekit import logs
from servicekit.settings import ServiceSettings


def run(app: FastAPI, settings: ServiceSettings) -> None:
    logs.configure()
    uvicorn.run(app, host=settings.http_host, port=settings.http_port, log_config=None)
