package node_test

import (
	"testing"

	"github.com/creditexchange/node/node/rights"
	"github.com/creditexchange/node/node/server"
	"github.com/creditexchange/node/node/store"
)

// The provider finds its subject-rights store, and the operator's manager
// its store, in *store.Postgres (objectionEndToEnd would otherwise skip the
// operator's part).
var (
	_ server.RightsStore = (*store.Postgres)(nil)
	_ rights.Store       = (*store.Postgres)(nil)
)

// TestObjectionEndToEndPostgres: the objection path over loopback with the
// provider tax-dept on PostgreSQL: filing, the disputed flag, refusals, the
// operator's removal, the subject's status and log.
func TestObjectionEndToEndPostgres(t *testing.T) {
	prep, _ := onPostgres(t)
	objectionEndToEnd(t, prep)
}

// TestThirdFreeReportRefusedPostgres: the free-report limit counted in
// PostgreSQL.
func TestThirdFreeReportRefusedPostgres(t *testing.T) {
	prep, _ := onPostgres(t)
	thirdFreeReportRefused(t, prep)
}

// TestSelfReadsSpendNoFreeReportPostgres: self reads spend no free report
// with the store on PostgreSQL.
func TestSelfReadsSpendNoFreeReportPostgres(t *testing.T) {
	prep, _ := onPostgres(t)
	selfReadsSpendNoFreeReport(t, prep)
}
