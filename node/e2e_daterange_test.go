package node_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/creditexchange/node/node/consent"
	"github.com/creditexchange/node/node/peer"
	"github.com/creditexchange/node/schemas"
)

// TestConsentDataRange: the provider sends only records whose period
// overlaps the consent's data range (devnet tax records: years Y-1 and Y-2,
// social insurance for month Y-1-12, Y the current year).
func TestConsentDataRange(t *testing.T) {
	f := startFed(t)
	ctx := context.Background()
	y := time.Now().Year()
	cats := []string{"tax_payment", "social_insurance"}
	for _, tc := range []struct {
		from, to string
		want     []string
	}{
		{"", "", []string{fmt.Sprintf("si-%d-12", y-1), fmt.Sprintf("tax-%d", y-2), fmt.Sprintf("tax-%d", y-1)}},
		{fmt.Sprintf("%d-12-31", y-2), "", []string{fmt.Sprintf("si-%d-12", y-1), fmt.Sprintf("tax-%d", y-2), fmt.Sprintf("tax-%d", y-1)}},
		{fmt.Sprintf("%d-01-01", y-1), "", []string{fmt.Sprintf("si-%d-12", y-1), fmt.Sprintf("tax-%d", y-1)}},
		{fmt.Sprintf("%d-01-01", y-1), fmt.Sprintf("%d-11-30", y-1), []string{fmt.Sprintf("tax-%d", y-1)}},
		{"", fmt.Sprintf("%d-12-31", y-2), []string{fmt.Sprintf("tax-%d", y-2)}},
		{fmt.Sprintf("%d-01-01", y), "", []string{}},
	} {
		t.Run(tc.from+".."+tc.to, func(t *testing.T) {
			now := time.Now()
			tok, err := consent.Grant(f.subj.Key, f.subj.Cert, schemas.ConsentClaims{Requester: "bank-a", Purpose: "loan_approval", Providers: []string{"tax-dept"},
				Categories: cats, NotBefore: now.Add(-time.Minute).Unix(), Expiry: now.Add(time.Hour).Unix(), MaxUses: 1,
				DataFrom: tc.from, DataTo: tc.to}, now)
			if err != nil {
				t.Fatal(err)
			}
			res, err := f.bank().Query(ctx, peer.Query{Provider: "tax-dept", Subject: f.smes[0].USCC, Purpose: "loan_approval",
				Categories: cats, Consent: string(tok)})
			if err != nil {
				t.Fatal(err)
			}
			got := []string{}
			for _, r := range res.Response.Records {
				got = append(got, r.ID)
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("records %v, want %v", got, tc.want)
			}
			ob := res.Response.Decision.Obligations
			if tc.from != "" && ob["data_from"] != tc.from || tc.to != "" && ob["data_to"] != tc.to {
				t.Fatalf("obligations %v", ob)
			}
		})
	}
}
