//go:build ignore

// gen writes the joint-modelling example of the README (synthetic, seeded, so
// the same files every run): loans.csv, bank-a's loans (USCC, label y: 90 days
// past due within 12 months, and three bank features) for 231 of 260 demo SMEs,
// and registration.csv, market-reg's registration features of all 260. The
// label follows a logistic model over both sides' features (younger, smaller
// enterprises in riskier industries default more), so the joint model gains
// from market-reg's columns. Run from the repository root:
//
//	go run cmd/creditnode/testdata/joint/gen.go cmd/creditnode/testdata/joint/loans.csv cmd/creditnode/testdata/joint/registration.csv
package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"

	"github.com/creditexchange/node/node/devnet"
)

func main() {
	const n = 260
	smes, err := devnet.DemoSMEs(n)
	if err != nil {
		panic(err)
	}
	rng := rand.New(rand.NewPCG(15, 2024))
	g, _ := os.Create(os.Args[1])
	h, _ := os.Create(os.Args[2])
	fmt.Fprintln(g, "id,y,loan_amount_log10,months_on_book,overdraft_days")
	fmt.Fprintln(h, "id,registration.capital_log10,registration.years_in_business,registration.industry_risk")
	pos := 0
	for i, s := range smes {
		capital := 5.3 + 2.2*rng.Float64() + 0.3*rng.NormFloat64()
		years := math.Max(0.3, 12*rng.ExpFloat64()/1.5)
		ind := float64(rng.IntN(5)) / 4
		loan := capital - 0.8 + 0.4*rng.NormFloat64()
		mob := float64(1 + rng.IntN(60))
		od := math.Max(0, math.Round(6*rng.NormFloat64()+2))
		z := -1.6 - 0.9*(capital-6.4) - 0.12*(years-8) + 1.6*(ind-0.5) + 0.35*(loan-5.6) - 0.02*(mob-30) + 0.08*od
		y := 0
		if rng.Float64() < 1/(1+math.Exp(-z)) {
			y = 1
			pos++
		}
		fmt.Fprintf(h, "%s,%.3f,%.1f,%.2f\n", s.USCC, capital, years, ind)
		if i%9 != 4 { // the bank's customers: most, not all
			fmt.Fprintf(g, "%s,%d,%.3f,%.0f,%.0f\n", s.USCC, y, loan, mob, od)
		}
	}
	fmt.Fprintln(os.Stderr, "defaults", pos)
}
