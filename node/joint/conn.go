package joint

import (
	"context"
	"fmt"
)

// Conn carries one request from the guest to one host and returns the host's response. Over
// the network it is a signed, encrypted member-API call; in process it is LocalConn.
type Conn interface {
	Call(ctx context.Context, req Message) (Message, error)
}

// Handler is the host side of a Conn.
type Handler interface {
	Handle(ctx context.Context, req Message) (Message, error)
}

// LocalConn connects a guest to a host in the same process. Every message goes through its
// wire encoding both ways (so the host parses exactly what a network peer would send), and if
// Observe is set it sees every encoded message, in order: the tests use it to inspect what each
// party receives.
type LocalConn struct {
	Host    Handler
	Observe func(dir Direction, kind string, wire []byte)
}

// Direction of an observed message.
type Direction int

// Directions.
const (
	ToHost Direction = iota
	ToGuest
)

var _ Conn = (*LocalConn)(nil)

// Call implements Conn.
func (c *LocalConn) Call(ctx context.Context, req Message) (Message, error) {
	wire, err := Marshal(req)
	if err != nil {
		return nil, err
	}
	if c.Observe != nil {
		c.Observe(ToHost, req.Kind(), wire)
	}
	in, err := Unmarshal(wire)
	if err != nil {
		return nil, err
	}
	out, err := c.Host.Handle(ctx, in)
	if err != nil {
		return nil, err
	}
	wire, err = Marshal(out)
	if err != nil {
		return nil, err
	}
	if c.Observe != nil {
		c.Observe(ToGuest, out.Kind(), wire)
	}
	return Unmarshal(wire)
}

// expect asserts the type of a response.
func expect[T Message](m Message, err error) (T, error) {
	var zero T
	if err != nil {
		return zero, err
	}
	t, ok := m.(T)
	if !ok {
		return zero, fmt.Errorf("%w: unexpected response %s", ErrMalformed, m.Kind())
	}
	return t, nil
}
