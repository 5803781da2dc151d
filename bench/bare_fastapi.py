"""The baseline of the gateway load benchmark: FastAPI with nothing behind it.

    python bench/bare_fastapi.py --port PORT

One GET answering a small JSON, one POST echoing its body; no middleware, no database, no broker.
Served exactly as ``python -m bimtek_gateway`` serves the gateway (uvicorn, one process, uvloop and
httptools, no access log), so the difference between the two is what the gateway does per request.
"""
from __future__ import annotations

import argparse
from typing import Any

import uvicorn
from fastapi import FastAPI, status

app = FastAPI()


@app.get("/items/{item_id}")
async def read_item(item_id: str) -> dict[str, Any]:
    return {"id": item_id, "status": "ok"}


@app.post("/items", status_code=status.HTTP_201_CREATED)
async def echo_item(body: dict[str, Any]) -> dict[str, Any]:
    return body


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    # The gateway's own uvicorn.run arguments (bimtek_gateway/__main__.py)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_config=None, access_log=False, proxy_headers=True)
