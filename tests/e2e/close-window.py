#!/usr/bin/env python3
"""Asks X windows to close, as a window manager does when the user clicks the title bar's close
button: a WM_DELETE_WINDOW client message (the test display has no window manager, and this
machine's xdotool predates `windowquit`). Usage: close-window.py WINDOW_ID... (decimal, from xdotool)."""

import ctypes
import sys

CLIENT_MESSAGE = 33


class ClientMessage(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("serial", ctypes.c_ulong),
        ("send_event", ctypes.c_int),
        ("display", ctypes.c_void_p),
        ("window", ctypes.c_ulong),
        ("message_type", ctypes.c_ulong),
        ("format", ctypes.c_int),
        ("data", ctypes.c_long * 5),
    ]


class Event(ctypes.Union):
    # XEvent is 24 longs whatever its kind.
    _fields_ = [("client", ClientMessage), ("pad", ctypes.c_long * 24)]


def main(windows):
    x = ctypes.cdll.LoadLibrary("libX11.so.6")
    x.XOpenDisplay.restype = ctypes.c_void_p
    x.XInternAtom.restype = ctypes.c_ulong
    x.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    x.XSendEvent.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_long, ctypes.POINTER(Event)]
    x.XFlush.argtypes = [ctypes.c_void_p]
    x.XCloseDisplay.argtypes = [ctypes.c_void_p]
    display = x.XOpenDisplay(None)
    if not display:
        sys.exit("close-window: cannot open the display")
    protocols = x.XInternAtom(display, b"WM_PROTOCOLS", 0)
    delete = x.XInternAtom(display, b"WM_DELETE_WINDOW", 0)
    for window in windows:
        event = Event()
        event.client.type = CLIENT_MESSAGE
        event.client.window = window
        event.client.message_type = protocols
        event.client.format = 32
        event.client.data[0] = delete
        event.client.data[1] = 0  # CurrentTime
        if not x.XSendEvent(display, window, 0, 0, ctypes.byref(event)):
            sys.exit(f"close-window: could not send to {window}")
    x.XFlush(display)
    x.XCloseDisplay(display)


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]])
