package node

import (
	"errors"
	"slices"
	"testing"
)

// TestClosersReverseOrder: what Open acquired is released the last first,
// every closer runs although one fails, and every failure is returned.
func TestClosersReverseOrder(t *testing.T) {
	var (
		c     closers
		order []string
	)
	errLogs := errors.New("logs")
	c.add(func() error { order = append(order, "store"); return nil })
	c.add(func() error { order = append(order, "logs"); return errLogs })
	c.add(func() error { order = append(order, "third"); return nil })
	err := c.close()
	if !slices.Equal(order, []string{"third", "logs", "store"}) {
		t.Fatalf("closed in order %v", order)
	}
	if !errors.Is(err, errLogs) {
		t.Fatalf("error %v, want the logs' failure", err)
	}
	if err := (closers{}).close(); err != nil {
		t.Fatalf("nothing to close: %v", err)
	}
}
