// Package transport builds the node's TLS configurations.
//
// Between nodes every connection is mutual TLS (TLS 1.2 or later) bound to the
// signed federation registry: the peer's certificate must chain to the
// federation CA and its leaf's SHA-256 fingerprint must be the one the
// registry lists for a member. Go skips VerifyPeerCertificate when a session
// is resumed, so the binding is checked in VerifyConnection, which runs on
// every handshake, full or resumed (threats.md item 27). A member removed from
// the registry is therefore refused on its next connection even if it holds a
// session ticket.
//
// Subjects reach a separate public listener with server-only TLS
// (PublicServerConfig); they authenticate inside signed tokens instead.
//
// The package never logs: handshake failures surface as errors from the TLS
// stack (http.Server.ErrorLog on the server, the dial error on the client).
package transport

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"time"

	"github.com/creditexchange/node/certs"
)

// MinVersion is the lowest TLS version any configuration accepts.
const MinVersion = tls.VersionTLS12

// MemberLookup maps a certificate fingerprint (lower-case hex SHA-256 of the
// leaf DER) to the member registered with it. The registry and its Watcher
// implement it. It is called on every handshake and must be safe for
// concurrent use.
type MemberLookup interface {
	MemberByFingerprint(fp string) (id string, ok bool)
}

// Errors from VerifyConnection; the TLS stack wraps them into the handshake
// error.
var (
	// ErrNoPeerCertificate: the peer presented no verified certificate chain.
	ErrNoPeerCertificate = errors.New("transport: no verified peer certificate")
	// ErrUnknownPeer: the client's certificate is not registered for any member.
	ErrUnknownPeer = errors.New("transport: peer certificate not registered for any member")
	// ErrPinMismatch: the server's certificate is not the one registered for
	// the member being called, or that member is no longer registered.
	ErrPinMismatch = errors.New("transport: server certificate is not the registered one")
	// ErrCertificateTime: the peer's certificate is outside its validity
	// window at the time of this handshake.
	ErrCertificateTime = errors.New("transport: peer certificate expired or not yet valid")
)

// ServerOptions configures the mutual-TLS listener for other nodes.
type ServerOptions struct {
	// Certificate is this node's certificate and key.
	Certificate tls.Certificate
	// ClientCAs are the federation CAs client certificates must chain to.
	ClientCAs *x509.CertPool
	// Members says which member a client certificate belongs to.
	Members MemberLookup
	// Time, if set, is the clock for certificate validity; default time.Now.
	Time func() time.Time
}

// ServerConfig is the configuration of the inter-node listener: client
// certificates are required, verified against ClientCAs, and must belong to a
// registered member, on full and resumed handshakes alike.
func ServerConfig(opts ServerOptions) (*tls.Config, error) {
	if err := checkCertificate(opts.Certificate); err != nil {
		return nil, err
	}
	if opts.ClientCAs == nil {
		return nil, errors.New("transport: ServerOptions.ClientCAs is required")
	}
	if opts.Members == nil {
		return nil, errors.New("transport: ServerOptions.Members is required")
	}
	now := clock(opts.Time)
	members := opts.Members
	return &tls.Config{
		MinVersion:   MinVersion,
		Certificates: []tls.Certificate{opts.Certificate},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    opts.ClientCAs,
		Time:         opts.Time,
		VerifyConnection: func(cs tls.ConnectionState) error {
			leaf, err := verifiedLeaf(&cs, now())
			if err != nil {
				return err
			}
			if _, ok := members.MemberByFingerprint(certs.Fingerprint(leaf.Raw)); !ok {
				return ErrUnknownPeer
			}
			return nil
		},
	}, nil
}

// PublicServerConfig is the configuration of the subject-facing listener:
// server certificate only, no client certificates, TLS 1.2 or later.
func PublicServerConfig(cert tls.Certificate) (*tls.Config, error) {
	if err := checkCertificate(cert); err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:   MinVersion,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.NoClientCert,
	}, nil
}

// PeerID names the member on the other end of a connection accepted with
// ServerConfig (for an HTTP handler, pass r.TLS). It reports false when there
// is no verified client certificate or it belongs to no member, which a
// handler must treat as unknown_member.
func PeerID(state *tls.ConnectionState, lookup MemberLookup) (string, bool) {
	if state == nil || !state.HandshakeComplete || len(state.VerifiedChains) == 0 || len(state.PeerCertificates) == 0 || lookup == nil {
		return "", false
	}
	return lookup.MemberByFingerprint(certs.Fingerprint(state.PeerCertificates[0].Raw))
}

// ClientOptions configures calls to one peer node.
type ClientOptions struct {
	// Certificate is this node's certificate and key, sent as client certificate.
	Certificate tls.Certificate
	// RootCAs are the federation CAs the server's certificate must chain to.
	RootCAs *x509.CertPool
	// Pin returns the fingerprint registered for the member being called; ok
	// false means that member is no longer registered, and the handshake
	// fails. It is called on every handshake, resumed ones included, so a
	// registry update takes effect on the next connection. Use StaticPin for
	// a fixed value.
	Pin func() (fp string, ok bool)
	// ServerName, if set, overrides the host name checked against the
	// server's certificate (by default the host being dialled).
	ServerName string
	// SessionCache, if set, enables session resumption.
	SessionCache tls.ClientSessionCache
	// Time, if set, is the clock for certificate validity; default time.Now.
	Time func() time.Time
}

// StaticPin pins a fixed fingerprint.
func StaticPin(fp string) func() (string, bool) {
	return func() (string, bool) { return fp, fp != "" }
}

// ClientConfig is the configuration for calling one peer: it presents this
// node's certificate, verifies the server's chain and name as usual, and then
// requires the server's leaf to be the one pinned for that member, on full
// and resumed handshakes alike.
func ClientConfig(opts ClientOptions) (*tls.Config, error) {
	if err := checkCertificate(opts.Certificate); err != nil {
		return nil, err
	}
	if opts.RootCAs == nil {
		return nil, errors.New("transport: ClientOptions.RootCAs is required")
	}
	if opts.Pin == nil {
		return nil, errors.New("transport: ClientOptions.Pin is required")
	}
	now := clock(opts.Time)
	pin := opts.Pin
	return &tls.Config{
		MinVersion:         MinVersion,
		Certificates:       []tls.Certificate{opts.Certificate},
		RootCAs:            opts.RootCAs,
		ServerName:         opts.ServerName,
		ClientSessionCache: opts.SessionCache,
		Time:               opts.Time,
		VerifyConnection: func(cs tls.ConnectionState) error {
			leaf, err := verifiedLeaf(&cs, now())
			if err != nil {
				return err
			}
			want, ok := pin()
			if !ok || want != certs.Fingerprint(leaf.Raw) {
				return ErrPinMismatch
			}
			return nil
		},
	}, nil
}

// verifiedLeaf returns the peer's leaf certificate once the stack has
// verified its chain, and re-checks its validity window: a resumed session
// carries the certificate of the original handshake, which may have expired
// since.
func verifiedLeaf(cs *tls.ConnectionState, now time.Time) (*x509.Certificate, error) {
	if len(cs.VerifiedChains) == 0 || len(cs.PeerCertificates) == 0 {
		return nil, ErrNoPeerCertificate
	}
	leaf := cs.PeerCertificates[0]
	if now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
		return nil, ErrCertificateTime
	}
	return leaf, nil
}

func checkCertificate(c tls.Certificate) error {
	if len(c.Certificate) == 0 || c.PrivateKey == nil {
		return errors.New("transport: a certificate with its private key is required")
	}
	return nil
}

func clock(f func() time.Time) func() time.Time {
	if f == nil {
		return time.Now
	}
	return f
}
