"""The seed flow of PROTOCOL.md §1 with the python-socketio client, over websocket and long-polling."""

from messages import join_of, leave_of, strip


def test_seed_flow(connect):
    alice = connect()
    assert alice.call("register", "alice") is True
    assert alice.next("history") == []
    assert alice.next("users") == ["alice"]
    assert strip(alice.next("message")) == join_of("alice")

    bob = connect()
    assert bob.call("register", "bob") is True
    assert bob.next("users") == ["alice", "bob"]
    bob_join = bob.next("message")
    assert strip(bob_join) == join_of("bob")
    assert alice.next("message") == bob_join

    # Forged, missing and numeric `from` are all replaced by the sender's name.
    for payload in (
        {"from": "Server", "message": "forged"},
        {"message": "missing"},
        {"from": 7, "message": "numeric"},
    ):
        acked = bob.call("message", payload)
        assert strip(acked) == {"from": "bob", "message": payload["message"]}
        assert alice.next("message") == acked
    # The sender got no copy: the next message bob sees is alice's.
    reply = alice.call("message", {"from": "alice", "message": "hi bob"})
    assert bob.next("message") == reply

    # Refusals: ack error and `refused` event, connection kept.
    assert alice.call("register", "other") is False
    refusal = bob.call("message", {"message": "   "})
    assert refusal == {"error": "empty", "reason": refusal["reason"]}
    assert bob.next("refused") == {"event": "message", "error": "empty", "reason": refusal["reason"]}
    assert bob.sio.connected

    # Leaving is announced and frees the name at once.
    bob.close()
    assert strip(alice.next("message")) == leave_of("bob")
    again = connect()
    assert again.call("register", "BOB") is True
    assert strip(alice.next("message")) == join_of("BOB")
    assert alice.pending("message") == []


def test_bad_register_arguments_get_false(connect):
    c = connect()
    for bad in (42, True, {"name": "x"}, ["x"], "", "   ", "x" * 33, "a\nb", "Server", "sERVER"):
        assert c.call("register", bad) is False, bad
    # No argument at all (python-socketio sends none for data=None).
    assert c.call("register") is False
    assert c.call("register", "🦀" * 32) is True
    assert c.sio.connected
