#!/usr/bin/env python3
# cdp-eval.py URL EXPR - open URL in headless Chromium, evaluate the
# JavaScript expression EXPR in it (a promise is awaited) and print its
# value as JSON.  Chromium is driven over --remote-debugging-pipe (the
# DevTools protocol as NUL-terminated JSON on its fds 3 and 4), so nothing
# but the Python standard library is needed.  CHROMIUM names the browser;
# the profile lives in a temp dir removed at exit.
import json, os, subprocess, sys, tempfile

url, expr = sys.argv[1], sys.argv[2]
to_r, to_w = os.pipe()          # we write, chromium reads on its fd 3
from_r, from_w = os.pipe()      # chromium writes on its fd 4, we read


def child():
    # the pipes' own fds close on exec; 3 and 4 stay open (dup2 onto
    # itself keeps close-on-exec, hence set_inheritable)
    r, w = os.dup(to_r), os.dup(from_w)
    os.dup2(r, 3)
    os.dup2(w, 4)
    os.set_inheritable(3, True)
    os.set_inheritable(4, True)


with tempfile.TemporaryDirectory() as prof:
    proc = subprocess.Popen(
        [os.environ.get("CHROMIUM", "chromium"), "--headless", "--no-sandbox", "--disable-gpu",
         "--mute-audio", "--no-first-run", "--autoplay-policy=no-user-gesture-required",
         "--user-data-dir=" + prof, "--remote-debugging-pipe", "about:blank"],
        preexec_fn=child, close_fds=False, stdout=subprocess.DEVNULL, stderr=sys.stderr)
    os.close(to_r)
    os.close(from_w)
    out, inp, buf, n = os.fdopen(to_w, "wb"), os.fdopen(from_r, "rb"), b"", 0

    def call(method, session=None, **params):
        global buf, n
        n += 1
        msg = {"id": n, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        out.write(json.dumps(msg).encode() + b"\0")
        out.flush()
        while True:
            while b"\0" not in buf:
                chunk = os.read(inp.fileno(), 65536)
                if not chunk:
                    sys.exit("cdp-eval: chromium closed the pipe")
                buf += chunk
            raw, buf = buf.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == n:
                if "error" in reply:
                    sys.exit("cdp-eval: %s: %s" % (method, reply["error"]))
                return reply["result"]

    try:
        target = call("Target.createTarget", url="about:blank")["targetId"]
        session = call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        call("Page.navigate", session, url=url)
        r = call("Runtime.evaluate", session, expression=expr, awaitPromise=True, returnByValue=True)
        print(json.dumps(r.get("result", {}).get("value", r)))
    finally:
        try:
            call("Browser.close")
        except SystemExit:
            pass
        proc.wait(timeout=30)
