#!/usr/bin/env python3
"""tests/browser/treecpu.py CMD...: runs CMD and prints the CPU time (user,
system) of every process it started, Chromium's renderers included, once they
have all exited. `/usr/bin/time` misses those (a page busy for 3 s under
`node` + Chromium: /usr/bin/time 1.1 s user, this 3.9 s): the renderers are
children of Chromium's zygote, and no process of the tree waits for them, so
nobody in it is charged. Here this process is a child subreaper (prctl
PR_SET_CHILD_SUBREAPER): orphans of the tree are reparented to it, it reaps
them all, and RUSAGE_CHILDREN holds the whole tree. It returns CMD's exit status; a descendant that never exits keeps it
waiting."""
import ctypes
import os
import resource
import subprocess
import sys
import time

PR_SET_CHILD_SUBREAPER = 36
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
    sys.exit("treecpu: prctl(PR_SET_CHILD_SUBREAPER) failed")
t0 = time.monotonic()
proc = subprocess.Popen(sys.argv[1:])
rc = None
while True:
    try:
        pid, status = os.waitpid(-1, 0)
    except ChildProcessError:
        break  # nothing of the tree is left
    if pid == proc.pid:
        rc = os.waitstatus_to_exitcode(status)
wall = time.monotonic() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"treecpu: user {ru.ru_utime:.2f} s, sys {ru.ru_stime:.2f} s, cpu {ru.ru_utime + ru.ru_stime:.2f} s, wall {wall:.1f} s, exit {rc}", file=sys.stderr)
sys.exit(rc if rc is not None else 1)
