package schemas

// ApprovalClaims is the payload of a special approval (TypApproval): a
// registry member holding the "regulator" role allows one requester to
// receive restricted categories about one subject, for one purpose, in one
// named case, until Expiry. The requester carries it in QueryClaims.Approval;
// the provider verifies it against the registry and gives its facts to the
// policy.
type ApprovalClaims struct {
	ID         string   `json:"jti"`  // unique token id
	Case       string   `json:"case"` // the regulator's case id, logged with each use
	Issuer     string   `json:"iss"`  // regulator node id
	Subject    string   `json:"sub"`  // USCC or person id, in normalised form
	Requester  string   `json:"requester"`
	Purpose    string   `json:"purpose"`
	Categories []string `json:"categories"`
	IssuedAt   int64    `json:"iat"`
	Expiry     int64    `json:"exp"`
}
