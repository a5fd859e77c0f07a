#!/usr/bin/env python3
"""Known-answer vectors for crypto/paillier, computed independently of the Go
code with Python's integers, straight from the definitions in Paillier 1999
with g = n+1:

    c = g^m · r^n mod n²        (computed as pow(n+1, m, n²) · pow(r, n, n²))
    m = L(c^λ mod n²) · μ mod n, L(x) = (x-1)/n, λ = lcm(p-1, q-1), μ = L(g^λ mod n²)^-1

Signed plaintexts are encoded as m mod n. Primes come from a seeded PRNG and
Miller-Rabin; the seeds are fixed so the file is reproducible:

    python3 testdata/gen_vectors.py > testdata/vectors.json
"""
import json
import math
import random

def is_probable_prime(n, rng):
    if n < 2:
        return False
    for sp in (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37):
        if n % sp == 0:
            return n == sp
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for _ in range(40):
        a = rng.randrange(2, n - 1)
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True

def prime(bits, rng):
    while True:
        c = rng.getrandbits(bits) | (3 << (bits - 2)) | 1
        if is_probable_prime(c, rng):
            return c

def L(x, n):
    return (x - 1) // n

def vector(name, p, q, rng, ms, k):
    n = p * q
    n2 = n * n
    g = n + 1
    lam = (p - 1) * (q - 1) // math.gcd(p - 1, q - 1)
    mu = pow(L(pow(g, lam, n2), n), -1, n)
    size = (n2.bit_length() + 7) // 8
    def enc(m, r):
        return pow(g, m % n, n2) * pow(r, n, n2) % n2
    def dec(c):
        m = L(pow(c, lam, n2), n) * mu % n
        return m - n if m > n // 2 else m
    def rand_r():
        while True:
            r = rng.randrange(1, n)
            if math.gcd(r, n) == 1:
                return r
    cases = []
    for m in ms:
        r = rand_r()
        c = enc(m, r)
        assert dec(c) == m
        cases.append({"m": str(m), "r": str(r), "c": c.to_bytes(size, "big").hex()})
    m1, m2 = ms[0], ms[1]
    c1, c2 = int(cases[0]["c"], 16), int(cases[1]["c"], 16)
    csum = c1 * c2 % n2
    # E(a)^k in the group Z*_{n^2}; for negative k Python's pow uses the inverse.
    cmul = pow(c1, k, n2)
    cadd = c1 * pow(g, k % n, n2) % n2
    assert dec(csum) == m1 + m2 and dec(cmul) == m1 * k and dec(cadd) == m1 + k
    return {
        "name": name, "p": str(p), "q": str(q), "n": str(n),
        "cases": cases,
        "k": str(k),
        "sum_c0_c1": csum.to_bytes(size, "big").hex(),
        "mul_c0_k": cmul.to_bytes(size, "big").hex(),
        "add_c0_k": cadd.to_bytes(size, "big").hex(),
    }

def main():
    rng = random.Random(20240607)
    out = []
    # The hand-checkable example: n = 77, n² = 5929, plaintexts in [-38, 38].
    out.append(vector("p7_q11", 7, 11, rng, [30, -20, 0, 38, -38], -1))
    for bits in (64, 512, 1024):
        p = prime(bits, rng)
        q = prime(bits, rng)
        while q == p:
            q = prime(bits, rng)
        n = p * q
        big_m = n // 2
        ms = [rng.randrange(-(1 << 40), 1 << 40), rng.randrange(-(1 << 40), 1 << 40), 0, big_m, -big_m, 1, -1]
        out.append(vector("n%d" % (2 * bits), p, q, rng, ms, rng.randrange(-(1 << 20), 1 << 20)))
    # Additions draw from their own generator so that the vectors above stay as they were.
    extra = random.Random(20261122)
    for v in out:
        add_keyholder(v, extra)
        add_lincomb(v, extra)
    structured = [structured_vector("s%d" % (2 * bits), bits, random.Random(bits)) for bits in (256, 1024)]
    print(json.dumps({"source": "testdata/gen_vectors.py", "vectors": out, "structured": structured}, indent=1))

def structured_prime(bits, rng):
    """A prime p of bits bits, top two bits set, p - 1 = 2·k·p' with p' a prime of bits-16
    bits (top two bits set) and k < 2^16, as paillier.GenerateKey makes them."""
    while True:
        pp = prime(bits - 16, rng)
        lo = -(-((3 << (bits - 2)) - 1) // (2 * pp))
        hi = ((1 << bits) - 2) // (2 * pp) + 1
        for _ in range(4 * bits):
            k = rng.randrange(lo, hi)
            p = 2 * k * pp + 1
            if is_probable_prime(p, rng):
                return p, k, pp

def prime_factors(k):
    out, d = [], 2
    while d * d <= k:
        if k % d == 0:
            out.append(d)
            while k % d == 0:
                k //= d
        d += 1
    if k > 1:
        out.append(k)
    return out

def smallest_generator(p, factors):
    g = 2
    while any(pow(g, (p - 1) // l, p) == 1 for l in factors):
        g += 1
    return g

def structured_vector(name, bits, rng):
    """Fixed-base key-holder encryption: h_p = g_p^p mod p² for the smallest generator g_p of
    Z*_p, c = (1+n)^m · CRT(h_p^ep mod p², h_q^eq mod q²) mod n² for ep < p-1, eq < q-1."""
    while True:
        p, kp, pp = structured_prime(bits, rng)
        q, kq, qq = structured_prime(bits, rng)
        n = p * q
        if p != q and math.gcd(n, (p - 1) * (q - 1)) == 1:
            break
    n2 = n * n
    size = (n2.bit_length() + 7) // 8
    gp = smallest_generator(p, sorted(set(prime_factors(2 * kp) + [pp])))
    gq = smallest_generator(q, sorted(set(prime_factors(2 * kq) + [qq])))
    hp, hq = pow(gp, p, p * p), pow(gq, q, q * q)
    lam = (p - 1) * (q - 1)
    cases = []
    for m, ep, eq in [(0, 0, 0), (1, p - 2, q - 2), (-1, 1, 1)] + [(rng.randrange(-(n // 2), n // 2), rng.randrange(p - 1), rng.randrange(q - 1)) for _ in range(4)]:
        yp, yq = pow(hp, ep, p * p), pow(hq, eq, q * q)
        y = (yq + q * q * ((yp - yq) * pow(q * q, -1, p * p) % (p * p))) % n2
        assert pow(y, lam, n2) == 1  # an n-th residue
        c = pow(n + 1, m % n, n2) * y % n2
        cases.append({"m": str(m), "ep": str(ep), "eq": str(eq), "c": c.to_bytes(size, "big").hex()})
    return {"name": name, "p": str(p), "q": str(q), "n": str(n), "gp": str(gp), "gq": str(gq), "cases": cases}

def add_keyholder(v, rng):
    """Key-holder encryption: c = (1+n)^m · CRT(sp^p mod p², sq^q mod q²) mod n².

    Checked against the definition: the randomizer equals pow(r, n, n²) for the
    r ∈ Z*_n with r^(q mod (p-1)) ≡ sp (mod p) and r^(p mod (q-1)) ≡ sq (mod q)."""
    p, q = int(v["p"]), int(v["q"])
    n = p * q
    n2 = n * n
    size = (n2.bit_length() + 7) // 8
    cases = []
    for m in [0, 1, -1, n // 2, -(n // 2), rng.randrange(-(n // 2), n // 2)]:
        sp, sq = rng.randrange(1, p), rng.randrange(1, q)
        yp, yq = pow(sp, p, p * p), pow(sq, q, q * q)
        y = (yq + q * q * ((yp - yq) * pow(q * q, -1, p * p) % (p * p))) % n2
        rp = pow(sp, pow(q % (p - 1), -1, p - 1), p)
        rq = pow(sq, pow(p % (q - 1), -1, q - 1), q)
        r = (rq + q * ((rp - rq) * pow(q, -1, p) % p)) % n
        assert math.gcd(r, n) == 1 and pow(r, n, n2) == y
        c = pow(n + 1, m % n, n2) * y % n2
        cases.append({"m": str(m), "sp": str(sp), "sq": str(sq), "r": str(r), "c": c.to_bytes(size, "big").hex()})
    v["keyholder"] = cases

def add_lincomb(v, rng):
    """Π_i c_i^(k_i) mod n² over the vector's ciphertexts, for signed k_i (Python's pow
    inverts for negative exponents)."""
    n = int(v["n"])
    n2 = n * n
    size = (n2.bit_length() + 7) // 8
    cts = [int(c["c"], 16) for c in v["cases"]]
    half = n // 2  # scalars are signed with |k| <= n//2, as for MulPlain
    short = min(1 << 24, half)
    sets = [
        [rng.randrange(-short, short + 1) for _ in cts],
        [0] * len(cts),
        [half if i == 0 else -half if i == 1 else rng.randrange(-half, half + 1) for i in range(len(cts))],
        [rng.randrange(0, min(1 << 30, half + 1)) if i % 2 else 0 for i in range(len(cts))],
    ]
    out = []
    for ks in sets:
        c = 1
        for ci, k in zip(cts, ks):
            c = c * pow(ci, k, n2) % n2
        out.append({"ks": [str(k) for k in ks], "c": c.to_bytes(size, "big").hex()})
    v["lincomb"] = out

if __name__ == "__main__":
    main()
