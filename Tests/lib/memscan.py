#!/usr/bin/python3
"""Counts the copies of each NEEDLE in the writable memory of process PID (heap, stacks,
anonymous mappings), reading /proc/PID/mem (root, or the process's own user while it is dumpable).

    memscan.py PID NEEDLE...   prints "NEEDLE COUNT" per needle
"""
import re
import sys

pid = int(sys.argv[1])
needles = [argument.encode() for argument in sys.argv[2:]]
counts = dict.fromkeys(needles, 0)
with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as memory:
    for line in maps:
        fields = line.split()
        start, end = (int(x, 16) for x in fields[0].split("-"))
        if "rw" not in fields[1]:
            continue
        try:
            memory.seek(start)
            data = memory.read(end - start)
        except OSError:
            continue  # a guard page or a mapping that went away
        for needle in needles:
            counts[needle] += len(re.findall(re.escape(needle), data))
for needle in needles:
    print(needle.decode(), counts[needle])
