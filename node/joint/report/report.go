// Package report renders a joint-modelling run as a self-contained HTML page: the ROC curve of
// the held-out members as an embedded PNG (drawn with image/png), AUC, KS, the WoE/IV table and
// the leakage table of the protocol. It holds only aggregates: no identifier, feature or label
// of any member.
package report

import (
	"bytes"
	"encoding/base64"
	"html/template"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"time"

	"github.com/creditexchange/node/node/joint"
)

// Report is what the page shows.
type Report struct {
	Job          string
	Generated    time.Time
	Guest        string
	Hosts        []string
	Intersection int
	Train, Test  int
	AUC, KS      float64
	// Baseline AUCs, if known (e.g. the guest's features alone).
	Baselines map[string]float64
	FPR, TPR  []float64 // ROC points from joint.ROC
	IV        []joint.FeatureIV
	Duration  time.Duration
}

// Leakage is the per-step leakage table shown in the report (from the package joint doc).
var leakage = [][3]string{
	{"alignment (ECDH-PSI)", "|X|; which of its members each host holds; host-blinded elements of those", "|Y|; nothing about which element is whose"},
	{"cohort", "—", "the cohort size and which of its own rows are in it; with mini-batches, their random partition into batches"},
	{"binning", "per-bin member and event counts over ≥ MinBin members; not the bin edges", "Paillier ciphertexts only: no label"},
	{"regression", "per member of a step's batch the host's partial predictor; gradients masked (2^-80)", "encrypted residuals; its own aggregate gradient per feature over each batch (≥ its minimum cohort) or the cohort"},
	{"inference", "the applicant's partial score", "that the applicant (with its authorisation) was scored"},
}

var page = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Joint model {{.R.Job}}</title>
<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}table{border-collapse:collapse}td,th{border:1px solid #999;padding:.2em .5em;text-align:left}td.n{text-align:right}</style>
</head><body>
<h1>Joint model {{.R.Job}}</h1>
<p>Guest {{.R.Guest}}; hosts {{range $i, $h := .R.Hosts}}{{if $i}}, {{end}}{{$h}}{{end}}. Generated {{.R.Generated.UTC.Format "2006-01-02 15:04:05Z"}}; training took {{.R.Duration}}.</p>
<p>Intersection {{.R.Intersection}} members: {{.R.Train}} for training, {{.R.Test}} held out.</p>
<h2>Held-out performance</h2>
<table><tr><th>AUC</th><td class="n">{{printf "%.4f" .R.AUC}}</td></tr><tr><th>KS</th><td class="n">{{printf "%.4f" .R.KS}}</td></tr>
{{range $k, $v := .R.Baselines}}<tr><th>AUC, {{$k}}</th><td class="n">{{printf "%.4f" $v}}</td></tr>{{end}}</table>
<p><img alt="ROC curve" width="400" height="400" src="{{.ROC}}"></p>
<h2>Information value</h2>
<table><tr><th>party</th><th>feature</th><th>bins</th><th>IV</th><th>WoE by bin</th></tr>
{{range .R.IV}}<tr><td>{{.Party}}</td><td>{{.Feature}}</td><td class="n">{{len .Bins}}</td><td class="n">{{printf "%.4f" .IV}}</td><td>{{range $i, $b := .Bins}}{{if $i}}, {{end}}{{printf "%.2f" $b.WoE}}{{end}}</td></tr>
{{end}}</table>
<h2>What each party learned</h2>
<table><tr><th>step</th><th>guest</th><th>host</th></tr>
{{range .Leakage}}<tr><td>{{index . 0}}</td><td>{{index . 1}}</td><td>{{index . 2}}</td></tr>
{{end}}</table>
</body></html>
`))

// WriteHTML renders r.
func WriteHTML(w io.Writer, r *Report) error {
	img, err := ROCPNG(r.FPR, r.TPR, 400)
	if err != nil {
		return err
	}
	return page.Execute(w, struct {
		R       *Report
		ROC     template.URL
		Leakage [][3]string
	}{r, template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(img)), leakage})
}

// ROCPNG draws the ROC curve (and the diagonal) on a size×size white square.
func ROCPNG(fpr, tpr []float64, size int) ([]byte, error) {
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	m := size / 16 // margin
	at := func(x, y float64) (int, int) {
		return m + int(math.Round(x*float64(size-2*m))), size - m - int(math.Round(y*float64(size-2*m)))
	}
	grey, black, blue := color.RGBA{0xbb, 0xbb, 0xbb, 0xff}, color.RGBA{0, 0, 0, 0xff}, color.RGBA{0x10, 0x40, 0xc0, 0xff}
	line := func(x0, y0, x1, y1 float64, c color.RGBA, thick int) {
		ax, ay := at(x0, y0)
		bx, by := at(x1, y1)
		steps := max(abs(bx-ax), abs(by-ay), 1)
		for s := 0; s <= steps; s++ {
			x := ax + (bx-ax)*s/steps
			y := ay + (by-ay)*s/steps
			for dx := -thick / 2; dx <= thick/2; dx++ {
				for dy := -thick / 2; dy <= thick/2; dy++ {
					img.SetRGBA(x+dx, y+dy, c)
				}
			}
		}
	}
	line(0, 0, 1, 1, grey, 1)
	line(0, 0, 1, 0, black, 1)
	line(0, 0, 0, 1, black, 1)
	line(1, 0, 1, 1, black, 1)
	line(0, 1, 1, 1, black, 1)
	for i := 1; i < len(fpr) && i < len(tpr); i++ {
		line(fpr[i-1], tpr[i-1], fpr[i], tpr[i], blue, 3)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
