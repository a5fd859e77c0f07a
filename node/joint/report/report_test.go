package report

import (
	"bytes"
	"encoding/base64"
	stdhtml "html"
	"image/png"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/creditexchange/node/node/joint"
)

func TestWriteHTML(t *testing.T) {
	labels := []int{0, 0, 1, 1, 0, 1}
	scores := []float64{0.1, 0.4, 0.35, 0.8, 0.2, 0.9}
	fpr, tpr := joint.ROC(labels, scores)
	r := &Report{Job: "job-1", Generated: time.Unix(0, 0), Guest: "bank-a", Hosts: []string{"tax-dept"},
		AUC: joint.AUC(labels, scores), KS: joint.KS(labels, scores), FPR: fpr, TPR: tpr,
		IV: []joint.FeatureIV{{Party: "tax-dept", Feature: "tax_paid", IV: 0.31, Bins: []joint.BinStat{{Count: 3, Events: 1, WoE: -0.4}}}}}
	var out bytes.Buffer
	if err := WriteHTML(&out, r); err != nil {
		t.Fatal(err)
	}
	html := out.String()
	for _, want := range []string{"0.8889", "tax_paid", "0.3100", "ECDH-PSI", "bank-a"} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	m := regexp.MustCompile(`data:image/png;base64,([A-Za-z0-9+/=]+)`).FindStringSubmatch(stdhtml.UnescapeString(html))
	if m == nil {
		t.Fatal("no embedded PNG")
	}
	raw, err := base64.StdEncoding.DecodeString(m[1])
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	// The curve passes through (fpr, tpr) = (0, 2/3) here: the point above the diagonal is blue.
	if b := img.Bounds(); b.Dx() != 400 {
		t.Fatalf("size %v", b)
	}
	_, _, bl, _ := img.At(26, 400-25-233).RGBA()
	if bl>>8 < 0xa0 {
		t.Errorf("ROC curve not drawn where expected")
	}
}
