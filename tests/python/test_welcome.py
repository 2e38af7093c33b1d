"""`welcome` carries the limits confab-server runs with, and its refusals follow them."""

from conftest import Client

DEFAULTS = {"maxMessageChars": 2000, "maxNameChars": 32, "messagesPerSecond": 10, "messageBurst": 20, "maxPacketBytes": 65536}


def test_welcome_carries_the_defaults(server):
    c = Client(server.url, ["websocket"])
    try:
        welcome = c.next("welcome")
        assert welcome["protocol"] == 1 and isinstance(welcome["run"], str) and welcome["run"]
        assert welcome["limits"] == DEFAULTS
    finally:
        c.close()


def test_welcome_carries_the_limits_given_on_the_command_line(start_server, transport):
    server = start_server("--max-message-chars", "300", "--rate", "0")
    c = Client(server.url, [transport])
    try:
        assert c.next("welcome")["limits"] == {**DEFAULTS, "maxMessageChars": 300, "messagesPerSecond": 0}
        assert c.call("register", "pat") is True
        assert c.call("message", {"message": "x" * 301}) == {
            "error": "too_long",
            "reason": "the message is longer than 300 characters",
        }
        assert c.call("message", {"message": "é" * 300})["from"] == "pat"
    finally:
        c.close()
