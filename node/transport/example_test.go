package transport_test

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/creditexchange/node/certs"
	"github.com/creditexchange/node/node/transport"
)

// fingerprints is a stand-in for the federation registry.
type fingerprints map[string]string

func (f fingerprints) MemberByFingerprint(fp string) (string, bool) { id, ok := f[fp]; return id, ok }

// A provider accepts a registered requester over mutual TLS and learns which
// member is calling; the requester pins the provider's registered certificate.
func Example() {
	ca, _ := certs.NewCA("Dev Federation CA", time.Hour)
	pair := func(id string) tls.Certificate {
		certPEM, keyPEM, _ := ca.IssueNode(id, nil, time.Hour)
		c, _ := tls.X509KeyPair(certPEM, keyPEM)
		return c
	}
	provider, requester := pair("bureau-a"), pair("bank-a")
	registry := fingerprints{
		certs.Fingerprint(provider.Certificate[0]):  "bureau-a",
		certs.Fingerprint(requester.Certificate[0]): "bank-a",
	}

	serverCfg, err := transport.ServerConfig(transport.ServerOptions{Certificate: provider, ClientCAs: ca.Pool(), Members: registry})
	if err != nil {
		panic(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	srv := &http.Server{
		TLSConfig:         serverCfg,
		ReadHeaderTimeout: 5 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id, _ := transport.PeerID(r.TLS, registry)
			fmt.Fprintf(w, "hello %s", id)
		}),
	}
	go srv.ServeTLS(ln, "", "")
	defer srv.Close()

	clientCfg, err := transport.ClientConfig(transport.ClientOptions{
		Certificate: requester,
		RootCAs:     ca.Pool(),
		Pin:         transport.StaticPin(certs.Fingerprint(provider.Certificate[0])),
	})
	if err != nil {
		panic(err)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: clientCfg}, Timeout: 5 * time.Second}
	resp, err := client.Get("https://" + ln.Addr().String() + "/")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(string(body))
	// Output: hello bank-a
}
