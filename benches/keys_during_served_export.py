#!/usr/bin/env python3
"""Key latency of the kitnotes UI while it answers a whole-store export for another terminal
(issue 23, "the UI never freezes"; docs/PERFORMANCE.md).

    keys_during_served_export.py KITNOTES DATA_DIR CONFIG_DIR

Starts `KITNOTES --demo` in a 120x40 pseudo-terminal on the demo store under DATA_DIR, types
`<Down>` 20 times idle, then runs `KITNOTES --demo export > /dev/null` beside it (answered by the
UI over its socket) and types `<Down>` every 100 ms until the export ends. A key's latency is the
time until the UI next writes to the terminal. Prints the export's wall time and the latencies.
Build the store first: `kitnotes --demo demo --no-ui --patients 1000 --notes-per-patient 100`.
"""
import os, pty, time, subprocess, select, sys, fcntl, termios, struct, statistics
bin, data, config = sys.argv[1], sys.argv[2], sys.argv[3]
env = dict(os.environ, KITNOTES_DATA_DIR=data, KITNOTES_CONFIG_DIR=config, TZ='UTC', TERM='xterm-256color')
env.pop('NO_COLOR', None)
pid, fd = pty.fork()
if pid == 0:
    os.execve(bin, [bin, '--demo'], env)
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', 40, 120, 0, 0))
buf = b''
def read_for(t):
    global buf
    end = time.time() + t
    got = b''
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], max(0, end - time.time()))
        if r:
            try:
                got += os.read(fd, 65536)
            except OSError:
                break
    buf += got
    return got
start = time.time()
while b'Patients (' not in buf and time.time() - start < 60:
    read_for(0.2)
read_for(1.0)
def latency():
    read_for(0.05)  # drain
    t = time.time()
    os.write(fd, b'\x1b[B')
    r, _, _ = select.select([fd], [], [], 10)
    lat = time.time() - t
    read_for(0.02)
    return lat
idle = [latency() for _ in range(20)]
t0 = time.time()
exp = subprocess.Popen([bin, '--demo', 'export'], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
busy = []
while exp.poll() is None:
    busy.append(latency())
    time.sleep(0.1)
wall = time.time() - t0
print('export served: %.2f s, exit %d' % (wall, exp.returncode))
for name, l in (('idle', idle), ('during export', busy)):
    l = sorted(l)
    print('%s: %d keys, median %.1f ms, p95 %.1f ms, max %.1f ms' % (name, len(l), statistics.median(l)*1000, l[max(0, -(-len(l)*95//100) - 1)]*1000, l[-1]*1000))
os.write(fd, b'q')
time.sleep(1)
