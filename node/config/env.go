package config

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// EnvPrefix starts the name of every environment variable that overrides a
// node.yaml key: the key's path in upper case, joined by "_"
// (keys.vault.address → CREDITNODE_KEYS_VAULT_ADDRESS). A value is read as
// YAML, as it would be written in the file: "30s", "8443", "[bank]",
// "{tax_payment: authorised}".
const EnvPrefix = "CREDITNODE_"

// Key is one node.yaml key: its dotted path, its environment variable, its
// Go type and where it sits in Config.
type Key struct {
	Path  string // e.g. "keys.vault.address"
	Env   string // e.g. "CREDITNODE_KEYS_VAULT_ADDRESS"
	Type  string // the Go type, e.g. "string", "config.Duration"
	index []int
	field reflect.StructField
}

// FileKeys lists every node.yaml key, in file order: a struct's fields are
// listed, a nested struct's keys come under its name, and maps and lists are
// single keys.
func FileKeys() []Key { return keysOf(reflect.TypeOf(Config{}), nil, nil) }

func keysOf(t reflect.Type, path []string, index []int) []Key {
	var out []Key
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "-" || name == "" {
			continue
		}
		p := append(append([]string(nil), path...), name)
		idx := append(append([]int(nil), index...), i)
		ft := f.Type
		if ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Struct {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && !isLeaf(ft) {
			out = append(out, keysOf(ft, p, idx)...)
			continue
		}
		out = append(out, Key{Path: strings.Join(p, "."), Env: EnvPrefix + strings.ToUpper(strings.Join(p, "_")),
			Type: f.Type.String(), index: idx, field: f})
	}
	return out
}

// isLeaf reports whether a struct type is one value in YAML (it decodes
// itself).
func isLeaf(t reflect.Type) bool {
	return reflect.PointerTo(t).Implements(reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem())
}

// applyEnv sets every key whose environment variable lookup finds, over the
// value from the file. It names the variable of a value that does not parse.
func (c *Config) applyEnv(lookup func(string) (string, bool)) error {
	var applied []string
	for _, k := range FileKeys() {
		v, ok := lookup(k.Env)
		if !ok {
			continue
		}
		f := reflect.ValueOf(c).Elem()
		for _, i := range k.index {
			if f.Kind() == reflect.Pointer {
				if f.IsNil() {
					f.Set(reflect.New(f.Type().Elem()))
				}
				f = f.Elem()
			}
			f = f.Field(i)
		}
		fresh := reflect.New(f.Type())
		if err := yaml.Unmarshal([]byte(v), fresh.Interface()); err != nil {
			return fmt.Errorf("config: %s: %w", k.Env, err)
		}
		f.Set(fresh.Elem())
		applied = append(applied, k.Env)
	}
	sort.Strings(applied)
	c.FromEnv = applied
	return nil
}
