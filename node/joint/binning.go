package joint

import (
	"math"
	"sort"
)

// quantileBins assigns each value a bin: edges at the k/maxBins quantiles (distinct values
// only), then adjacent bins holding fewer than minCount values merged, left to right, the last
// short run merged into its left neighbour. It returns the upper edges (bin b holds values
// ≤ edges[b]; the last bin is unbounded) and the bin of each value.
func quantileBins(values []float64, maxBins, minCount int) (edges []float64, bins []int) {
	if maxBins < 1 {
		maxBins = 1
	}
	sorted := append([]float64(nil), values...)
	sort.Float64s(sorted)
	n := len(sorted)
	var cand []float64
	for k := 1; k < maxBins; k++ {
		v := sorted[(k*n)/maxBins]
		if len(cand) == 0 || v > cand[len(cand)-1] {
			cand = append(cand, v)
		}
	}
	// Count per candidate bin (bin b: (cand[b-1], cand[b]]).
	counts := make([]int, len(cand)+1)
	for _, v := range values {
		counts[sort.SearchFloat64s(cand, v)]++
	}
	// Merge short bins.
	var kept []float64 // upper edges of merged bins except the last
	acc := 0
	for b := range counts {
		acc += counts[b]
		if acc >= minCount && b < len(cand) {
			kept = append(kept, cand[b])
			acc = 0
		}
	}
	if acc < minCount && len(kept) > 0 {
		kept = kept[:len(kept)-1] // the tail joins its left neighbour
	}
	bins = make([]int, len(values))
	for i, v := range values {
		bins[i] = sort.SearchFloat64s(kept, v)
	}
	return kept, bins
}

// BinStat is one bin of one feature as the guest sees it.
type BinStat struct {
	Count  int     `json:"count"`
	Events int     `json:"events"`
	WoE    float64 `json:"woe"`
}

// FeatureIV is the weight-of-evidence table and information value of one feature.
type FeatureIV struct {
	Party   string    `json:"party"` // "guest" or the host's name
	Feature string    `json:"feature"`
	Bins    []BinStat `json:"bins"`
	IV      float64   `json:"iv"`
}

// woeIV fills in WoE and IV with FATE's convention, WoE_b = ln((e_b/E) / (n_b/N)) for events e
// and non-events n, replacing a zero count by 0.5 (FATE's adjustment factor).
func woeIV(bins []BinStat) float64 {
	var E, N float64
	for _, b := range bins {
		E += float64(b.Events)
		N += float64(b.Count - b.Events)
	}
	if E == 0 || N == 0 {
		return 0
	}
	iv := 0.0
	for i := range bins {
		e, ne := float64(bins[i].Events), float64(bins[i].Count-bins[i].Events)
		if e == 0 {
			e = 0.5
		}
		if ne == 0 {
			ne = 0.5
		}
		pe, pn := e/E, ne/N
		bins[i].WoE = math.Log(pe / pn)
		iv += (pe - pn) * bins[i].WoE
	}
	return iv
}
