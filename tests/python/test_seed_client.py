"""A client written for the seed's reference server (register emitted without a callback, answer
taken by `@sio.on("register")`) against confab-server, next to a client that uses the ack
(PROTOCOL.md §1.1). Over websocket and long-polling."""

import time

from messages import join_of, leave_of, strip

SILENCE = 0.3  # seconds watched for a second answer that must not come


def test_seed_style_register_chat_and_leave(connect):
    seed = connect()
    assert seed.register_without_ack("seedy") is True
    assert seed.next("history") == []
    assert seed.next("users") == ["seedy"]
    assert strip(seed.next("message")) == join_of("seedy")

    acker = connect()
    assert acker.call("register", "acker") is True
    assert acker.next("users") == ["seedy", "acker"]
    assert strip(acker.next("message")) == join_of("acker")
    assert strip(seed.next("message")) == join_of("acker")

    # Both ways; the seed client's `from` is corrected to its registered name.
    seed.sio.emit("message", {"from": "someone else", "message": "hi from seed"})
    assert strip(acker.next("message")) == {"from": "seedy", "message": "hi from seed"}
    acked = acker.call("message", {"from": "acker", "message": "hi seedy"})
    assert seed.next("message") == acked

    acker.close()
    assert strip(seed.next("message")) == leave_of("acker")
    time.sleep(SILENCE)
    assert seed.pending("register") == [], "one register event only"
    assert seed.pending("message") == [], "no copy of its own message"


def test_seed_style_register_refused_with_a_false_event(connect):
    alice = connect()
    assert alice.call("register", "alice") is True
    seed = connect()
    for refused in ("ALICE", "Server", "x" * 33, "", 42, None, ["alice"]):
        assert seed.register_without_ack(refused) is False, refused
    assert seed.call("users") == [], "a refused client is not in the room"
    assert seed.pending("register") == [] and seed.pending("message") == []
    assert seed.register_without_ack("bob") is True


def test_a_register_asking_the_ack_gets_no_register_event(connect):
    c = connect()
    assert c.call("register", "carol") is True
    assert c.call("register", "other") is False
    time.sleep(SILENCE)
    assert c.pending("register") == []
    assert c.sio.connected
