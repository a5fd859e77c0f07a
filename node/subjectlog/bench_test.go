package subjectlog

import (
	"encoding/binary"
	"testing"
)

func benchMap(b *testing.B, n int) (*Map, []Key) {
	m := NewMap()
	keys := make([]Key, n)
	for i := range keys {
		binary.BigEndian.PutUint64(keys[i][:], uint64(i)*0x9E3779B97F4A7C15)
		binary.BigEndian.PutUint64(keys[i][8:], uint64(i))
		m.Append(keys[i], uint64(i), keys[i][:])
	}
	return m, keys
}

// BenchmarkMapRoot10k: a subject checkpoint's map root over 10,000 subjects.
func BenchmarkMapRoot10k(b *testing.B) {
	m, _ := benchMap(b, 10_000)
	for b.Loop() {
		m.Root()
	}
}

// BenchmarkMapProve10k: one subject's map proof among 10,000.
func BenchmarkMapProve10k(b *testing.B) {
	m, keys := benchMap(b, 10_000)
	for b.Loop() {
		m.Prove(keys[17])
	}
}

func BenchmarkVRFProve(b *testing.B) {
	k := mustVRF(b)
	for b.Loop() {
		k.Prove([]byte("91110000100000016D"))
	}
}

func BenchmarkVRFVerify(b *testing.B) {
	k := mustVRF(b)
	pi, _, _ := k.Prove([]byte("91110000100000016D"))
	for b.Loop() {
		VerifyVRF(k.Public(), []byte("91110000100000016D"), pi)
	}
}
