package joint

import (
	"math"
	"sort"
)

// AUC is the area under the ROC curve of scores against 0/1 labels (the Mann–Whitney
// statistic, ties counted one half). It is NaN if either class is empty.
func AUC(labels []int, scores []float64) float64 {
	idx := sortedByScore(scores)
	var pos, neg float64
	for _, y := range labels {
		if y == 1 {
			pos++
		} else {
			neg++
		}
	}
	if pos == 0 || neg == 0 {
		return math.NaN()
	}
	// Sum of positive ranks with average ranks for ties.
	var rankSum float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && scores[idx[j]] == scores[idx[i]] {
			j++
		}
		avg := float64(i+j+1) / 2 // ranks i+1..j
		for k := i; k < j; k++ {
			if labels[idx[k]] == 1 {
				rankSum += avg
			}
		}
		i = j
	}
	return (rankSum - pos*(pos+1)/2) / (pos * neg)
}

// KS is the Kolmogorov–Smirnov statistic: the largest gap between the score distributions of
// positives and negatives.
func KS(labels []int, scores []float64) float64 {
	fpr, tpr := ROC(labels, scores)
	ks := 0.0
	for i := range fpr {
		ks = math.Max(ks, math.Abs(tpr[i]-fpr[i]))
	}
	return ks
}

// ROC returns the points (false positive rate, true positive rate) of the ROC curve, from
// (0,0) to (1,1), thresholds descending, one point per distinct score.
func ROC(labels []int, scores []float64) (fpr, tpr []float64) {
	idx := sortedByScore(scores)
	var P, N float64
	for _, y := range labels {
		if y == 1 {
			P++
		} else {
			N++
		}
	}
	fpr, tpr = []float64{0}, []float64{0}
	if P == 0 || N == 0 {
		return fpr, tpr
	}
	var tp, fp float64
	for i := len(idx) - 1; i >= 0; i-- {
		if labels[idx[i]] == 1 {
			tp++
		} else {
			fp++
		}
		if i == 0 || scores[idx[i-1]] != scores[idx[i]] {
			fpr, tpr = append(fpr, fp/N), append(tpr, tp/P)
		}
	}
	return fpr, tpr
}

func sortedByScore(scores []float64) []int {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] < scores[idx[b]] })
	return idx
}

// PlainLR is ordinary logistic regression on pooled data, the baseline the joint model is
// compared with: standardised features, full-batch gradient descent.
type PlainLR struct {
	Intercept float64
	Weights   []float64
	Mean, Std []float64
}

// FitPlainLR trains on rows X with labels y.
func FitPlainLR(X [][]float64, y []int, learningRate, l2 float64, iterations int) *PlainLR {
	n, p := len(X), len(X[0])
	m := &PlainLR{Weights: make([]float64, p), Mean: make([]float64, p), Std: make([]float64, p)}
	for j := range p {
		var s, sq float64
		for i := range n {
			s += X[i][j]
		}
		m.Mean[j] = s / float64(n)
		for i := range n {
			d := X[i][j] - m.Mean[j]
			sq += d * d
		}
		m.Std[j] = math.Sqrt(sq / float64(n))
		if m.Std[j] == 0 {
			m.Std[j] = 1
		}
	}
	g := make([]float64, p)
	for range iterations {
		clear(g)
		var gb float64
		for i := range n {
			d := sigmoid(m.Score(X[i])) - float64(y[i])
			gb += d
			for j := range p {
				g[j] += d * (X[i][j] - m.Mean[j]) / m.Std[j]
			}
		}
		m.Intercept -= learningRate * gb / float64(n)
		for j := range p {
			m.Weights[j] -= learningRate * (g[j]/float64(n) + l2*m.Weights[j])
		}
	}
	return m
}

// Score is the linear predictor of x.
func (m *PlainLR) Score(x []float64) float64 {
	z := m.Intercept
	for j, w := range m.Weights {
		z += w * (x[j] - m.Mean[j]) / m.Std[j]
	}
	return z
}
