package node

import (
	"crypto/tls"
	"net/http"
	"time"

	"github.com/creditexchange/node/node/internalapi"
	"github.com/creditexchange/node/node/registry"
)

// openInternal makes the internal API for the organisation's own systems
// when internal_listen is configured (nil otherwise).
func (n *Node) openInternal() (*internalapi.Server, error) {
	if n.Config.InternalListen == "" {
		return nil, nil
	}
	sub, err := n.Subscriber()
	if err != nil {
		return nil, err
	}
	return internalapi.New(internalapi.Options{
		ID: n.Config.ID, NodeDir: n.Config.Dir, Keys: n.Keys, Peer: n.Client, Outbound: n.Store, Records: n.Store, Feeds: sub,
		Grading: &internalapi.Grading{Local: n.Store, Grader: n.Policy}, Joint: n.JointClient(),
		Registry: func(now time.Time) (*registry.Registry, error) {
			if err := n.Registry.Valid(now); err != nil {
				return nil, err
			}
			return n.Registry.Current(), nil
		},
		Skew: n.Config.ClockSkew.D(), MaxBody: n.Config.MaxBodyBytes, Logger: n.log,
	})
}

// internalServing is the internal listener's handler and TLS configuration.
func (n *Node) internalServing() (http.Handler, *tls.Config, error) {
	api, err := n.openInternal()
	if err != nil || api == nil {
		return nil, nil, err
	}
	cfg, err := api.TLSConfig(n.Config.InternalListen)
	if err != nil {
		return nil, nil, err
	}
	return api.Handler(), cfg, nil
}
