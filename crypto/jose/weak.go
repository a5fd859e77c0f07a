package jose

import (
	"crypto/ed25519"
	"encoding/hex"
	"strings"
)

// Weak public keys: the encodings of points of small order, canonical and
// non-canonical, that Go's decoders accept. A signature "verifies" under a
// small-order Ed25519 key for a large share of all messages, so such a key
// proves nothing; an X25519 key of small order makes the shared secret zero.
const (
	smallOrderEd25519 = "0000000000000000000000000000000000000000000000000000000000000000 " +
		"0100000000000000000000000000000000000000000000000000000000000000 " +
		"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05 " +
		"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a " +
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f " +
		"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f " +
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f " +
		"0000000000000000000000000000000000000000000000000000000000000080 " +
		"0100000000000000000000000000000000000000000000000000000000000080 " +
		"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85 " +
		"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa " +
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff " +
		"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff " +
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
	lowOrderX25519 = "0000000000000000000000000000000000000000000000000000000000000000 " +
		"0100000000000000000000000000000000000000000000000000000000000000 " +
		"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800 " +
		"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157 " +
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f " +
		"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f " +
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f " +
		"0000000000000000000000000000000000000000000000000000000000000080 " +
		"0100000000000000000000000000000000000000000000000000000000000080 " +
		"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b880 " +
		"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f11d7 " +
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff " +
		"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff " +
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
)

// WeakEd25519Key reports whether pub encodes an Ed25519 point of small order
// (canonically or not). Go's ed25519.Verify accepts such keys, and under them
// signatures for unsigned messages are easy to forge, so Verify refuses them
// and key parsers should too.
func WeakEd25519Key(pub ed25519.PublicKey) bool { return inList(smallOrderEd25519, pub) }

// WeakX25519Key reports whether pub encodes an X25519 point of small order,
// with which every shared secret is zero.
func WeakX25519Key(pub []byte) bool { return inList(lowOrderX25519, pub) }

// inList reports whether the 32-byte key is one of the space-separated hex
// encodings in list.
func inList(list string, key []byte) bool {
	return len(key) == 32 && strings.Contains(list, hex.EncodeToString(key))
}
