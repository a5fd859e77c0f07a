// Package vaulte2e holds the end-to-end tests and benchmarks of nodes whose
// keys live in Vault (keys.backend: vault): a devnet federation on loopback
// in which the provider signs through Transit, against a real Vault dev
// server. It has no non-test code.
package vaulte2e
