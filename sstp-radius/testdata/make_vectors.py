#!/usr/bin/env python3
"""Golden vectors for sstp-radius, made by implementations other than ours.

1. Requests are built here with Python's hashlib/hmac straight from the RFC
   text (RFC 2865 3 and 5.2, RFC 2866 3, RFC 3579 3.2, RFC 5176 2.3/3.5,
   RFC 5997 3) with fixed "random" authenticators, then sent to a running
   FreeRADIUS 3.2.1 (Debian bookworm's 3.2.1+dfsg-4+deb12u1, started with
   `cp -r testdata/freeradius /tmp/frtest; freeradius -X -d /tmp/frtest
   -n radiusd`); FreeRADIUS checks them (it drops a
   request whose Message-Authenticator is wrong) and its answers are
   recorded byte for byte.
2. radclient (freeradius-utils 3.2.1) encodes an Accounting-Request, a
   CoA-Request with a Message-Authenticator, a Disconnect-Request and an
   Access-Request; a UDP listener here records the datagrams
   (`radclient -r 1 -t 1 -x 127.0.0.1:PORT TYPE testing123`, the attribute
   lines on its standard input).

Usage: python3 make_vectors.py  (FreeRADIUS listening on 127.0.0.1:18120
auth, 18130 acct, 37990 coa, client 127.0.0.1 secret "testing123").
Prints one hex line per vector; src/tests.rs holds one run's output (the
MS-MPPE salts FreeRADIUS draws and radclient's authenticators differ from
run to run, so a new run gives other bytes that check the same way).
"""
import hashlib, hmac, socket, struct, subprocess, threading

SECRET = b"testing123"

def attr(t, v):
    return bytes([t, len(v) + 2]) + v

def vsa_ms(t, v):
    return attr(26, struct.pack(">I", 311) + bytes([t, len(v) + 2]) + v)

def hide_password(pw, auth):
    pw = pw + b"\0" * (-len(pw) % 16)
    out, prev = b"", auth
    for i in range(0, len(pw), 16):
        b = hashlib.md5(SECRET + prev).digest()
        c = bytes(x ^ y for x, y in zip(pw[i:i + 16], b))
        out += c
        prev = c
    return out

def access_request(ident, auth, attrs):
    # Message-Authenticator first, zeroed, then HMAC-MD5 over the packet.
    body = attr(80, b"\0" * 16) + attrs
    pkt = bytearray(struct.pack(">BBH", 1, ident, 20 + len(body)) + auth + body)
    pkt[22:38] = hmac.new(SECRET, bytes(pkt), hashlib.md5).digest()
    return bytes(pkt)

def status_server(ident, auth):
    # RFC 5997 3: a Status-Server carries only a Message-Authenticator.
    pkt = bytearray(struct.pack(">BBH", 12, ident, 38) + auth + attr(80, b"\0" * 16))
    pkt[22:38] = hmac.new(SECRET, bytes(pkt), hashlib.md5).digest()
    return bytes(pkt)

def computed_auth_request(code, ident, attrs, with_ma=False):
    # RFC 2866 3 / RFC 5176 2.3: MD5(Code+ID+Length+16 zero octets+Attributes+Secret).
    body = (attr(80, b"\0" * 16) if with_ma else b"") + attrs
    pkt = bytearray(struct.pack(">BBH", code, ident, 20 + len(body)) + b"\0" * 16 + body)
    if with_ma:
        # RFC 5176 3.5: the HMAC is taken with the authenticator field zeroed.
        pkt[22:38] = hmac.new(SECRET, bytes(pkt), hashlib.md5).digest()
    pkt[4:20] = hashlib.md5(bytes(pkt) + SECRET).digest()
    return bytes(pkt)

def exchange(port, pkt):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.sendto(pkt, ("127.0.0.1", port))
    data, _ = s.recvfrom(4096)
    return data

def capture(args, stdin):
    ls = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    ls.bind(("127.0.0.1", 0))
    port = ls.getsockname()[1]
    got = []
    def rx():
        ls.settimeout(3)
        got.append(ls.recvfrom(4096)[0])
    t = threading.Thread(target=rx); t.start()
    subprocess.run(["radclient", "-r", "1", "-t", "1"] + [a.replace("PORT", str(port)) for a in args],
                   input=stdin.encode(), capture_output=True)
    t.join()
    return got[0]

def show(name, b):
    print(f"{name} {b.hex()}")

A1 = bytes(range(0x10, 0x20))
req = access_request(7, A1, attr(1, b"alice") + attr(2, hide_password(b"hello", A1)) + attr(4, bytes([127, 0, 0, 1])))
show("pap_request", req); show("pap_accept", exchange(18120, req))

A2 = bytes(range(0x30, 0x40))
chal = bytes.fromhex("5B5D7C7D7B3F2F3E3C2C602132262628")
resp = bytes.fromhex("01" "00" "21402324255E262A28295F2B3A337C7E" + "00" * 8 + "82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF" )
req = access_request(8, A2, attr(1, b"User") + vsa_ms(11, chal) + vsa_ms(25, resp))
show("mschapv2_request", req); show("mschapv2_accept", exchange(18120, req))

A3 = bytes(range(0x50, 0x60))
req = access_request(9, A3, attr(1, b"eapkeys") + attr(2, hide_password(b"keys", A3)))
show("keys32_request", req); show("keys32_accept", exchange(18120, req))

A4 = bytes(range(0x70, 0x80))
req = access_request(10, A4, attr(1, b"alice") + attr(2, hide_password(b"wrong", A4)))
show("pap_reject_request", req); show("pap_reject", exchange(18120, req))

A5 = bytes(range(0x90, 0xa0))
req = status_server(11, A5)
show("status_auth_request", req); show("status_auth_answer", exchange(18120, req))
req = status_server(12, A5)
show("status_acct_request", req); show("status_acct_answer", exchange(18130, req))

acct_attrs = attr(40, struct.pack(">I", 1)) + attr(44, b"sess-1") + attr(1, b"alice") + attr(41, struct.pack(">I", 0))
req = computed_auth_request(4, 13, acct_attrs)
show("acct_request", req); show("acct_response", exchange(18130, req))

coa_attrs = attr(1, b"alice") + attr(44, b"sess-1")
req = computed_auth_request(43, 14, coa_attrs, with_ma=True)
show("coa_request", req); show("coa_ack", exchange(37990, req))

show("radclient_acct", capture(["-x", "127.0.0.1:PORT", "acct", "testing123"],
     'Acct-Status-Type = Start, Acct-Session-Id = "sess-1", User-Name = "alice", Acct-Delay-Time = 0\n'))
show("radclient_coa", capture(["-x", "127.0.0.1:PORT", "coa", "testing123"],
     'Message-Authenticator = 0x00, User-Name = "alice", Acct-Session-Id = "sess-1"\n'))
show("radclient_disconnect", capture(["-x", "127.0.0.1:PORT", "disconnect", "testing123"],
     'User-Name = "alice", Acct-Session-Id = "sess-1"\n'))
show("radclient_auth", capture(["-x", "127.0.0.1:PORT", "auth", "testing123"],
     'Message-Authenticator = 0x00, User-Name = "alice", User-Password = "0123456789abcdef0123"\n'))
