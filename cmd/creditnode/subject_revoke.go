package main

import (
	"crypto/ed25519"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/creditexchange/node/node"
	"github.com/creditexchange/node/node/consent"
	"github.com/creditexchange/node/node/registry"
)

// revokeSubjectCertCmd is `subject revoke-cert`: a registrar revokes a
// subject certificate it issued (the subject lost its key), so that the
// consents and requests signed under it stop working everywhere once the
// registry is rebuilt and signed; the subject is then certified anew with
// a new key (`subject enrol`).
func (a *app) revokeSubjectCertCmd() *cobra.Command {
	var dir, certPath string
	cmd := &cobra.Command{
		Use:   "revoke-cert --dir REGISTRAR_DIR --cert subject.cert",
		Short: "As a registrar, revoke a subject certificate you issued (published with the next registry)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(dir)
			if err != nil {
				return err
			}
			if !cfg.HasRole("registrar") {
				return fmt.Errorf("node %s does not hold the registrar role", cfg.ID)
			}
			auth, err := registry.LoadAuthorityPublic(cfg.Path(cfg.AuthorityKey))
			if err != nil {
				return err
			}
			tok, err := os.ReadFile(cfg.Path(cfg.Registry))
			if err != nil {
				return err
			}
			reg, err := registry.Verify(tok, auth, time.Now())
			if err != nil {
				return err
			}
			cert, err := os.ReadFile(certPath)
			if err != nil {
				return err
			}
			sc, err := consent.VerifySubjectCert(cert, registryWithoutRevocations{reg}, time.Now(), 0)
			if err != nil {
				return err
			}
			if sc.Claims.Issuer != cfg.ID {
				return fmt.Errorf("the certificate was issued by %s, not by this registrar (%s)", sc.Claims.Issuer, cfg.ID)
			}
			if err := node.RevokeSubjectCert(dir, sc.Claims.ID); err != nil {
				return err
			}
			fmt.Fprintf(a.out, "revoked subject certificate %s of %s; rebuild and sign the registry to publish it\n", sc.Claims.ID, sc.Claims.Subject)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "registrar node directory")
	cmd.Flags().StringVar(&certPath, "cert", "subject.cert", "subject certificate to revoke")
	cmd.MarkFlagRequired("dir")
	return cmd
}

// registryWithoutRevocations finds registrar keys but hides revocations,
// so that revoking a certificate twice is not an error.
type registryWithoutRevocations struct{ r *registry.Registry }

func (w registryWithoutRevocations) RegistrarKey(id, kid string) (ed25519.PublicKey, bool) {
	return w.r.RegistrarKey(id, kid)
}

// SubjectCertRevoked hides every revocation (see the type).
func (registryWithoutRevocations) SubjectCertRevoked(string, string) bool { return false }
