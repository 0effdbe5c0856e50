#!/usr/bin/env python3
"""Holds `kitnotes --demo` open in a 120x40 pseudo-terminal for benches/compare.sh.

    hold_ui.py KITNOTES READY STOP

Starts the terminal UI, creates the file READY once its roster is on screen, keeps reading its
output (so it never blocks on a full terminal), and quits it (`q`) once the file STOP exists.
"""
import fcntl, os, pty, select, struct, sys, termios, time


def quit_ui(pid, fd, wait):
    """Types `q` and waits up to `wait` seconds for kitnotes to exit (reading what it writes
    meanwhile), then kills it."""
    os.write(fd, b"q")
    deadline = time.time() + wait
    while time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            try:
                if not os.read(fd, 65536):
                    break
            except OSError:
                break
        if os.waitpid(pid, os.WNOHANG)[0]:
            break
    else:
        os.kill(pid, 9)
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def main():
    kitnotes, ready, stop = sys.argv[1:4]
    pid, fd = pty.fork()
    if pid == 0:
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        os.environ["TERM"] = "xterm-256color"
        os.execv(kitnotes, [kitnotes, "--demo"])
    seen = b""
    shown = False
    started = time.time()
    while not os.path.exists(stop):
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            try:
                data = os.read(fd, 65536)
            except OSError:
                break
            if not data:
                break
            if not shown:
                seen += data
                if b"Patients (" in seen:
                    shown = True
                    open(ready, "w").close()
        if not shown and time.time() - started > 60:
            sys.exit("the UI never showed its roster")
    quit_ui(pid, fd, 20)


if __name__ == "__main__":
    main()
