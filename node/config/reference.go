package config

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"reflect"
	"strings"
)

// Reference renders the node.yaml reference (REFERENCE.md beside this file)
// from the Config types and their doc comments, read from src (this
// package's source directory), so the reference cannot drift from the code:
// TestReferenceUpToDate fails when the committed file differs.
func Reference(src fs.FS) (string, error) {
	docs, err := fieldDocs(src)
	if err != nil {
		return "", err
	}
	var def Config
	def.SetDefaults()
	var b strings.Builder
	b.WriteString("# node.yaml reference\n\n")
	b.WriteString("Generated from the types in `node/config` by `go test ./node/config -run TestReferenceUpToDate -update`;\n")
	b.WriteString("do not edit by hand. Every key can also be set by its environment variable, which wins over the\n")
	b.WriteString("file; the value is read as YAML, as it would be written in the file (`30s`, `[bank]`,\n")
	b.WriteString("`{tax_payment: authorised}`). `creditnode serve` logs the names (never the values) of the variables it used.\n\n")
	b.WriteString("| key | environment variable | type | default | meaning |\n|---|---|---|---|---|\n")
	for _, k := range FileKeys() {
		doc := docs[k.owner()+"."+k.field.Name]
		fmt.Fprintf(&b, "| `%s` | `%s` | %s | %s | %s |\n", k.Path, k.Env, typeName(k.field.Type), defaultOf(def, k), cell(doc))
	}
	return b.String(), nil
}

// owner is the name of the struct type that declares k's field.
func (k Key) owner() string {
	t := reflect.TypeOf(Config{})
	for _, i := range k.index[:len(k.index)-1] {
		t = t.Field(i).Type
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
	}
	return t.Name()
}

func typeName(t reflect.Type) string {
	switch t.String() {
	case "config.Duration":
		return "duration (`30s`)"
	case "*bool":
		return "bool"
	}
	return strings.TrimPrefix(t.String(), "config.")
}

// defaultOf is k's value in a config holding only the defaults, or "" when
// the default is empty.
func defaultOf(def Config, k Key) string {
	v := reflect.ValueOf(def)
	for _, i := range k.index {
		if v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return ""
			}
			v = v.Elem()
		}
		v = v.Field(i)
	}
	if v.IsZero() || (v.Kind() == reflect.Map && v.Len() == 0) {
		return ""
	}
	if d, ok := v.Interface().(Duration); ok {
		return "`" + d.D().String() + "`"
	}
	return fmt.Sprintf("`%v`", v.Interface())
}

// cell makes a doc comment one table cell.
func cell(doc string) string {
	doc = strings.Join(strings.Fields(doc), " ")
	return strings.ReplaceAll(doc, "|", `\|`)
}

// fieldDocs maps "Type.Field" to the field's doc comment (or its line
// comment), for the structs declared in src's non-test Go files.
func fieldDocs(src fs.FS) (map[string]string, error) {
	names, err := fs.Glob(src, "*.go")
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	out := map[string]string{}
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		data, err := fs.ReadFile(src, name)
		if err != nil {
			return nil, err
		}
		f, err := parser.ParseFile(fset, name, data, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok {
				return true
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				return false
			}
			for _, fl := range st.Fields.List {
				doc := fl.Doc.Text()
				if doc == "" {
					doc = fl.Comment.Text()
				}
				for _, id := range fl.Names {
					out[ts.Name.Name+"."+id.Name] = doc
				}
			}
			return false
		})
	}
	return out, nil
}
