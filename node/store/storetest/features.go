package storetest

import (
	"context"
	"testing"
)

// FeaturesBackend is a backend with every feature a suite of its own covers.
type FeaturesBackend interface {
	RightsBackend
	FeedsBackend
	JointBackend
	WitnessBackend
	UsageBackend
	CategoryBackend
}

// RunFeatures runs the feature suites (rights, feeds, joint jobs, witness
// state, usage, per-category reads), each of which can also run alone. They
// take an opener of the backend's own type, so one opener serves them all:
//
//	storetest.RunFeatures(t, func(t *testing.T) func(context.Context) (*store.SQLite, error) {
//		path := filepath.Join(t.TempDir(), "node.db")
//		return func(ctx context.Context) (*store.SQLite, error) { return store.OpenSQLite(ctx, path) }
//	})
func RunFeatures[B FeaturesBackend](t *testing.T, newDB func(t *testing.T) func(context.Context) (B, error)) {
	t.Run("Rights", func(t *testing.T) { RunRights(t, newDB) })
	t.Run("Feeds", func(t *testing.T) { RunFeeds(t, newDB) })
	t.Run("Joint", func(t *testing.T) { RunJoint(t, newDB) })
	t.Run("Witness", func(t *testing.T) { RunWitness(t, newDB) })
	t.Run("Usage", func(t *testing.T) { RunUsage(t, newDB) })
	t.Run("Category", func(t *testing.T) { RunCategory(t, newDB) })
}
