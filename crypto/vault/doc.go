// Package vault keeps a node's keys in HashiCorp Vault instead of local files.
//
// The Ed25519 signing key lives only in Vault's Transit secrets engine (a key
// of type "ed25519"): Signer is a crypto.Signer whose Sign calls
// transit/sign/NAME and never sees the private key. Each Transit key version
// is its own Ed25519 key; its key id is the RFC 7638 thumbprint of its public
// key (keys.SigningKID), the same id the federation registry and the node's
// JWKS use for local keys. A Signer signs with one pinned version, the latest
// when it was made, so the "kid" it puts in a token can never disagree with
// the key that signed it; PublicKeys lists every version that is not retired
// (version ≥ min_decryption_version), which the node publishes in its JWKS and
// in its registry entry. Rotation (Rotate) adds a version; retiring (Retire)
// raises min_decryption_version. A node starts signing with a new version when
// it is restarted, after the federation registry lists the new kid: switching
// earlier would make every peer reject its signatures.
//
// The X25519 decryption key cannot live in Transit: Transit has no X25519
// key-agreement operation, and ECDH-ES needs the raw shared secret. It is
// kept as an age identity string in a KV version 2 secret (field
// "age_identity"), read into memory once when the node starts and never
// written to disk. Anyone who can read that secret can decrypt answers sent to
// the node, so its Vault policy should grant read to the node's identity only.
//
// Failure is closed: when Vault is sealed, unreachable, refuses the token, or
// answers later than the per-signature deadline, Sign returns an error
// wrapping ErrUnavailable (or ErrDenied), the caller sends nothing signed,
// and Check fails so the node's readiness probe turns false. No state is
// cached across failures, so signing recovers by itself when Vault returns.
//
// Concurrent signatures can be grouped into one Transit batch request
// (SignerOptions.BatchWindow); see Signer.
//
// The package never logs, and never puts tokens, secret ids or key material
// in errors; Options implements slog.LogValuer and shows only the address and
// the auth method.
package vault
