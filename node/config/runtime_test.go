package config

import (
	"strings"
	"testing"
)

func TestRuntimeSettings(t *testing.T) {
	env := func(vars map[string]string) func(string) string {
		return func(k string) string { return vars[k] }
	}
	cases := []struct {
		name string
		rt   Runtime
		env  map[string]string
		want GCSettings
	}{
		{"defaults", Runtime{}, nil, GCSettings{GCPercent: DefaultGCPercent}},
		{"configured", Runtime{GCPercent: 250, MemoryLimitMiB: 512}, nil, GCSettings{GCPercent: 250, MemoryLimitBytes: 512 << 20}},
		{"GOGC wins", Runtime{GCPercent: 250, MemoryLimitMiB: 512}, map[string]string{"GOGC": "off"}, GCSettings{MemoryLimitBytes: 512 << 20}},
		{"GOMEMLIMIT wins", Runtime{MemoryLimitMiB: 512}, map[string]string{"GOMEMLIMIT": "1GiB"}, GCSettings{GCPercent: DefaultGCPercent}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.rt.Settings(env(tc.env)); got != tc.want {
				t.Fatalf("Settings = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestRuntimeFromYAML(t *testing.T) {
	c, err := Load(write(t, good+"runtime: {gc_percent: 800, memory_limit_mib: 2048}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Runtime.GCPercent != 800 || c.Runtime.MemoryLimitMiB != 2048 {
		t.Fatalf("runtime = %+v", c.Runtime)
	}
	_, err = Load(write(t, good+"runtime: {memory_limit_mib: 2147483648}\n"))
	if err == nil || !strings.Contains(err.Error(), "too large") {
		t.Fatalf("huge limit: %v", err)
	}
}
