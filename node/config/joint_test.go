package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadJointHost(t *testing.T) {
	dir := t.TempDir()
	c := &Config{Dir: dir}
	if h, err := c.LoadJointHost(); err != nil || h != (JointHost{}) {
		t.Fatalf("no file: %+v %v", h, err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "joint"), 0o700); err != nil {
		t.Fatal(err)
	}
	write := func(name, s string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(JointHostFile, `{"min_cohort":20,"allow_insecure_key_size":true,"aggregate_epsilon":"1/2"}`)
	h, err := c.LoadJointHost()
	if err != nil || h.MinCohort != 20 || !h.AllowInsecureKeySize {
		t.Fatalf("settings: %+v %v", h, err)
	}
	if eps, err := h.Epsilon(); err != nil || eps.String() != "1/2" {
		t.Fatalf("epsilon %v %v", eps, err)
	}
	for name, body := range map[string]string{
		"unknown member":    `{"min_cohort":20,"min_kohort":3}`,
		"zero epsilon":      `{"aggregate_epsilon":"0"}`,
		"epsilon not exact": `{"aggregate_epsilon":"about one"}`,
		"not JSON":          `min_cohort: 20`,
	} {
		write(JointHostFile, body)
		if _, err := c.LoadJointHost(); err == nil || !strings.Contains(err.Error(), JointHostFile) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
