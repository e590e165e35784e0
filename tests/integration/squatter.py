"""A hostile stand-in for the agent, for the attacker tests: binds the agent's control socket name
(the abstract unix socket "@leakhunt-agent.PID") for a PID that is not necessarily its own, and
answers every request with the line in REPLY_FILE ("{pid}" becomes its own pid), read anew for
each connection; a REPLY_FILE holding "silent" makes it keep every connection open and never
answer. Prints "ready" once it listens.

usage: squatter.py NAME_PID|self REPLY_FILE"""
import os
import socket
import sys


def main():
    name_pid = os.getpid() if sys.argv[1] == "self" else int(sys.argv[1])
    reply_file = sys.argv[2]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(f"\0leakhunt-agent.{name_pid}")
    s.listen(4)
    print("ready", flush=True)
    held = []
    while True:
        c, _ = s.accept()
        with open(reply_file) as f:
            if f.read().strip() == "silent":
                held.append(c)
                continue
        c.settimeout(2)
        try:
            c.recv(64)
            with open(reply_file) as f:
                reply = f.read().strip().replace("{pid}", str(os.getpid()))
            c.sendall((reply + "\n").encode())
        except OSError:
            pass
        c.close()


if __name__ == "__main__":
    main()
