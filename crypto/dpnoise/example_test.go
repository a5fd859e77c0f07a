package dpnoise_test

import (
	"errors"
	"fmt"
	"math/big"

	"github.com/creditexchange/node/crypto/dpnoise"
)

// A department publishes a noisy count of firms in arrears and refuses a
// release once the dataset's budget is spent.
func ExampleLaplace() {
	acct, _ := dpnoise.NewAccountant(dpnoise.Budget{Epsilon: big.NewRat(1, 1)})
	mech, _ := dpnoise.NewLaplace(dpnoise.CountSensitivity, big.NewRat(1, 2)) // noise scale 2

	for i := range 3 {
		noisy, err := mech.Release(acct, 1234)
		switch {
		case errors.Is(err, dpnoise.ErrBudgetExceeded):
			fmt.Println("release", i, "refused: budget spent")
		case err != nil:
			panic(err)
		default:
			fmt.Println("release", i, "close to 1234:", noisy > 1200 && noisy < 1270)
		}
	}
	fmt.Println("remaining ε:", acct.Remaining().Epsilon.RatString())
	// Output:
	// release 0 close to 1234: true
	// release 1 close to 1234: true
	// release 2 refused: budget spent
	// remaining ε: 0
}

func ExampleNewGaussianZCDP() {
	lo, hi := int64(0), int64(100) // e.g. tax arrears in units, clamped
	sens, _ := dpnoise.BoundedSumSensitivity(lo, hi)
	sum, _ := dpnoise.ClampedSum([]int64{5, 250, 40, 0}, lo, hi)
	mech, _ := dpnoise.NewGaussianZCDP(sens, big.NewRat(1, 2)) // σ² = 100²/(2·½)
	fmt.Println("true sum", sum, "σ² =", mech.Sigma2().RatString())
	// Output: true sum 145 σ² = 10000
}
