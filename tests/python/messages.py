"""What confab-server's `message` events look like (PROTOCOL.md §1, §2.1), shared by the tests."""


def strip(message):
    """`message` without `id` and `ts`, after checking they are positive integers."""
    assert isinstance(message["id"], int) and message["id"] > 0
    assert isinstance(message["ts"], int) and message["ts"] > 0
    return {k: v for k, v in message.items() if k not in ("id", "ts")}


def join_of(name):
    return {"from": "Server", "message": f"{name} has joined the chat", "kind": "join", "name": name}


def leave_of(name):
    return {"from": "Server", "message": f"{name} left the chat", "kind": "leave", "name": name}
