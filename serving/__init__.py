"""The network edge between uvicorn and the Starlette app: which peer's forwarded headers are
believed (forwarded.py), how long a client may take to send its headers and its body
(timeouts.py). app.uvicorn_config puts them together for production and the tests alike.

Imports only settings, starlette and uvicorn, so every layer may use `client_address`.
"""
