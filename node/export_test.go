package node

import "github.com/creditexchange/node/schemas"

// ListenerRoutes lists the route patterns each listener of n registers, by
// the listener names of the OpenAPI document.
func ListenerRoutes(n *Node) map[string][]string {
	return map[string][]string{
		schemas.ListenerMember:   n.memberMux(0).Patterns(),
		schemas.ListenerSubject:  n.publicMux(0).Patterns(),
		schemas.ListenerOps:      n.opsMux(0).Patterns(),
		schemas.ListenerInternal: internalPatterns(n),
	}
}

// internalPatterns lists the internal listener's routes, or none when the
// node has no internal_listen.
func internalPatterns(n *Node) []string {
	api, err := n.openInternal()
	if err != nil || api == nil {
		return nil
	}
	return api.Handler().Patterns()
}
