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
    print(json.dumps({"source": "testdata/gen_vectors.py", "vectors": out}, indent=1))

if __name__ == "__main__":
    main()
