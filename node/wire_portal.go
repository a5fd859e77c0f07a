package node

import (
	"encoding/json"
	"net/http"

	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/node/portal"
)

// portal is the subject portal served on the public listener when
// portal.enabled is set (publicHandler).
func (n *Node) portal() *portal.Handler {
	jwk, _ := json.Marshal(keys.SigningJWK(n.authority)) // a JWK of an Ed25519 key always marshals
	return portal.New(portal.Options{AuthorityJWK: jwk, Current: n.currentRegistry, Witnesses: n.Config.Portal.Witnesses})
}

// publicCORS opens the subject routes of the public listener to portal
// pages served by the registry's members (portal.CORS). Every node does
// this, portal or not: a subject's page on another member reads this
// node's log of it directly.
func (n *Node) publicCORS(h http.Handler) http.Handler {
	return portal.CORS(h, n.currentRegistry)
}

// currentRegistry is the registry in force, nil before one is loaded.
func (n *Node) currentRegistry() portal.Registry {
	if r := n.Registry.Current(); r != nil {
		return r
	}
	return nil
}
