#!/usr/bin/env python3
"""Golden vectors for the EAP-TLS key derivation tests of sstp-core
(src/ppp/auth/eap_tls/tls.rs, `key_vectors`), from Python's hmac and
hashlib: a second implementation of the two exporters EAP-TLS uses.

- TLS 1.3 (RFC 9190 §2.3, RFC 8446 §7.5 and §7.1):
    Key_Material = TLS-Exporter("EXPORTER_EAP_TLS_Key_Material", 0x0D, 128)
- TLS 1.2 (RFC 5216 §2.3, RFC 5246 §5):
    Key_Material = PRF(master_secret, "client EAP encryption",
                       client.random || server.random)[0..128]
MSK = Key_Material[0..64], EMSK = Key_Material[64..128].

The inputs are fixed byte patterns (not from a real handshake); SHA-256
suites. Run: python3 sstp-core/vectors/eap_tls_keys.py
"""
import hashlib
import hmac


def hkdf_expand(secret: bytes, info: bytes, length: int) -> bytes:
    out, block, i = b"", b"", 1
    while len(out) < length:
        block = hmac.new(secret, block + info + bytes([i]), hashlib.sha256).digest()
        out += block
        i += 1
    return out[:length]


def hkdf_expand_label(secret: bytes, label: bytes, context: bytes, length: int) -> bytes:
    full = b"tls13 " + label
    info = length.to_bytes(2, "big") + bytes([len(full)]) + full + bytes([len(context)]) + context
    return hkdf_expand(secret, info, length)


def tls13_exporter(exporter_master_secret: bytes, label: bytes, context: bytes, length: int) -> bytes:
    empty_hash = hashlib.sha256(b"").digest()
    derived = hkdf_expand_label(exporter_master_secret, label, empty_hash, 32)
    return hkdf_expand_label(derived, b"exporter", hashlib.sha256(context).digest(), length)


def p_sha256(secret: bytes, seed: bytes, length: int) -> bytes:
    out, a = b"", seed
    while len(out) < length:
        a = hmac.new(secret, a, hashlib.sha256).digest()
        out += hmac.new(secret, a + seed, hashlib.sha256).digest()
    return out[:length]


def tls12_exporter(master_secret: bytes, label: bytes, client_random: bytes, server_random: bytes, length: int) -> bytes:
    return p_sha256(master_secret, label + client_random + server_random, length)


secret = bytes(range(32))
master = bytes(range(48))
client_random = bytes([0xC0 + (i % 16) for i in range(32)])
server_random = bytes([0x50 + (i % 16) for i in range(32)])

print("TLS13", tls13_exporter(secret, b"EXPORTER_EAP_TLS_Key_Material", b"\x0d", 128).hex())
print("TLS12", tls12_exporter(master, b"client EAP encryption", client_random, server_random, 128).hex())
