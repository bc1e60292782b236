"""Creates N files a/b/c/fN holding their own name, then REPS times opens, preads and closes
them from two threads (halves of the set); prints wrong contents and failed calls."""
import os
import sys
import threading
root = sys.argv[1]; n = int(sys.argv[2]); d = os.path.join(root, "a/b/c")
os.makedirs(d, exist_ok=True)
for i in range(n):
    with open(os.path.join(d, "f%07d" % i), "w") as f: f.write("f%07d" % i)
bad = []; errs = []
def work(lo, hi):
    for i in range(lo, hi):
        name = "f%07d" % i
        try:
            fd = os.open(os.path.join(d, name), os.O_RDONLY)
        except OSError as e:
            errs.append("open %s: %s" % (name, e)); continue
        data = os.pread(fd, 64, 0).decode(errors="replace")
        try:
            os.close(fd)
        except OSError as e:
            errs.append("close %s: %s" % (name, e))
        if data != name:
            bad.append("%s read %r" % (name, data))
for r in range(int(sys.argv[3])):
    ts = [threading.Thread(target=work, args=(k * n // 2, (k + 1) * n // 2)) for k in range(2)]
    [t.start() for t in ts]; [t.join() for t in ts]
print("wrong content: %d, errors: %d" % (len(bad), len(errs)))
print("\n".join(bad[:5] + errs[:5]))
