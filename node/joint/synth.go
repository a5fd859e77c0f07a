package joint

import (
	"fmt"
	"math"
	mrand "math/rand/v2"
)

// SynthOptions describes an SME-like synthetic federation: one bank with default labels and
// some features, hosts with the rest, ids overlapping partly.
type SynthOptions struct {
	Members       int     // enterprises in the population
	GuestFeatures int     // features at the bank
	HostFeatures  []int   // features at each host
	Coverage      float64 // share of the population each party holds (default 0.9)
	Intercept     float64 // β0 of the generating model (default -2.2, about 12% defaults)
	Seed          uint64
}

// Synthetic is a generated federation and its generating model.
type Synthetic struct {
	Guest *Dataset
	Hosts []*Dataset
	// The generating model: P(default) = σ(Intercept + Σ Beta[name]·x[name]), over every
	// party's raw features.
	Intercept float64
	Beta      map[string]float64
}

var smeNames = []string{
	"tax_paid", "tax_arrears_months", "vat_invoices", "insured_employees", "social_insurance_arrears",
	"revenue_growth", "registered_capital", "years_in_business", "admin_penalties", "court_cases",
	"utility_arrears", "customs_volume", "permits_active", "director_changes", "pledge_count",
}

var bankNames = []string{
	"loan_balance", "utilisation", "overdue_30d", "months_with_bank", "deposit_balance",
	"guarantees_given", "credit_lines", "cash_flow_volatility",
}

// GenerateSME draws a synthetic federation. Features are driven by one latent "health" factor
// plus independent noise, so they are correlated as real credit data are; the label follows a
// logistic model, linear in the observed features, with coefficients drawn once from the seed.
func GenerateSME(o SynthOptions) *Synthetic {
	if o.Coverage <= 0 || o.Coverage > 1 {
		o.Coverage = 0.9
	}
	if o.Intercept == 0 {
		o.Intercept = -2.2
	}
	rng := mrand.New(mrand.NewPCG(o.Seed, 0x736d65))
	name := func(list []string, j int, prefix string) string {
		if j < len(list) {
			return list[j]
		}
		return fmt.Sprintf("%s_%d", prefix, j)
	}
	type col struct {
		name string
		load float64
		beta float64
	}
	mkCols := func(k int, list []string, prefix string) []col {
		cs := make([]col, k)
		for j := range cs {
			cs[j] = col{name: name(list, j, prefix), load: rng.Float64()*1.2 - 0.6}
			if rng.Float64() < 0.7 { // most features matter, a few are noise
				cs[j].beta = (rng.Float64()*2 - 1) * 0.8
			}
		}
		return cs
	}
	guestCols := mkCols(o.GuestFeatures, bankNames, "bank")
	hostCols := make([][]col, len(o.HostFeatures))
	for h, k := range o.HostFeatures {
		hostCols[h] = mkCols(k, smeNames, fmt.Sprintf("host%d", h))
		for j := range hostCols[h] {
			if h > 0 || j >= len(smeNames) {
				hostCols[h][j].name = fmt.Sprintf("h%d_%s", h, hostCols[h][j].name)
			}
		}
	}
	s := &Synthetic{Intercept: o.Intercept, Beta: map[string]float64{}}
	s.Guest = &Dataset{Labels: []int{}}
	for _, c := range guestCols {
		s.Guest.Features = append(s.Guest.Features, c.name)
		s.Beta[c.name] = c.beta
	}
	s.Hosts = make([]*Dataset, len(hostCols))
	for h, cs := range hostCols {
		s.Hosts[h] = &Dataset{}
		for _, c := range cs {
			s.Hosts[h].Features = append(s.Hosts[h].Features, c.name)
			s.Beta[c.name] = c.beta
		}
	}
	draw := func(cs []col, health float64) ([]float64, float64) {
		x := make([]float64, len(cs))
		z := 0.0
		for j, c := range cs {
			x[j] = c.load*health + rng.NormFloat64()
			z += c.beta * x[j]
		}
		return x, z
	}
	for i := range o.Members {
		id := fmt.Sprintf("SME%08d", i)
		health := rng.NormFloat64()
		gx, z := draw(guestCols, health)
		hx := make([][]float64, len(hostCols))
		for h, cs := range hostCols {
			var zh float64
			hx[h], zh = draw(cs, health)
			z += zh
		}
		y := 0
		if rng.Float64() < 1/(1+math.Exp(-(o.Intercept+z))) {
			y = 1
		}
		if rng.Float64() < o.Coverage {
			s.Guest.IDs = append(s.Guest.IDs, id)
			s.Guest.X = append(s.Guest.X, gx)
			s.Guest.Labels = append(s.Guest.Labels, y)
		}
		for h := range hostCols {
			if rng.Float64() < o.Coverage {
				s.Hosts[h].IDs = append(s.Hosts[h].IDs, id)
				s.Hosts[h].X = append(s.Hosts[h].X, hx[h])
			}
		}
	}
	return s
}
