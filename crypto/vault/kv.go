package vault

import (
	"context"
	"crypto/ecdh"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/vault/api"

	"github.com/creditexchange/node/crypto/keys"
)

// EncryptionField is the KV field holding the node's X25519 key as an age
// identity string ("AGE-SECRET-KEY-1…").
const EncryptionField = "age_identity"

// SecretPath is a KV version 2 secret: its mount and its path inside it.
type SecretPath struct{ Mount, Path string }

// ParseSecretPath splits "MOUNT/PATH" (e.g. "secret/creditnode/bank-a").
func ParseSecretPath(s string) (SecretPath, error) {
	mount, path, ok := strings.Cut(strings.Trim(s, "/"), "/")
	if !ok || mount == "" || path == "" {
		return SecretPath{}, fmt.Errorf("%w: KV secret %q: want MOUNT/PATH", ErrConfig, s)
	}
	return SecretPath{Mount: mount, Path: path}, nil
}

func (p SecretPath) String() string { return p.Mount + "/" + p.Path }

// ReadEncryptionKey reads the X25519 key from the KV v2 secret into memory.
// Errors never hold the secret's contents.
func ReadEncryptionKey(ctx context.Context, c *Client, p SecretPath) (*ecdh.PrivateKey, error) {
	var s *api.KVSecret
	_, err := c.do(ctx, "read "+p.String(), func(ctx context.Context) (*api.Secret, error) {
		var err error
		s, err = c.api.KVv2(p.Mount).Get(ctx, p.Path)
		if errors.Is(err, api.ErrSecretNotFound) {
			s, err = nil, nil
		}
		return nil, err
	})
	if err == nil && s == nil {
		return nil, fmt.Errorf("%w: KV secret %s not found", ErrKey, p)
	}
	if err != nil {
		return nil, err
	}
	id, _ := s.Data[EncryptionField].(string)
	if id == "" {
		return nil, fmt.Errorf("%w: KV secret %s has no %q field", ErrKey, p, EncryptionField)
	}
	k, err := keys.ParseAgeIdentity(id)
	if err != nil {
		return nil, fmt.Errorf("%w: KV secret %s: not an age X25519 identity", ErrKey, p)
	}
	return k, nil
}

// StoreEncryptionKey writes k to the KV v2 secret, refusing to overwrite an
// existing secret (check-and-set 0).
func StoreEncryptionKey(ctx context.Context, c *Client, p SecretPath, k *ecdh.PrivateKey) error {
	id, err := keys.AgeIdentity(k)
	if err != nil {
		return err
	}
	_, err = c.do(ctx, "write "+p.String(), func(ctx context.Context) (*api.Secret, error) {
		_, err := c.api.KVv2(p.Mount).Put(ctx, p.Path, map[string]any{EncryptionField: id.String()}, api.WithCheckAndSet(0))
		return nil, err
	})
	return err
}
