package schemas

// Content type of a signed checkpoint (C2SP tlog-checkpoint note).
const ContentTypeCheckpoint = "text/plain; charset=utf-8"

// InclusionProof is the body of GET /v1/log/proof/inclusion: the audit path
// of leaf Index in the tree of Size leaves, hashes base64 (standard, padded)
// as encoding/json writes []byte.
type InclusionProof struct {
	Index  uint64   `json:"index"`
	Size   uint64   `json:"size"`
	Hashes [][]byte `json:"hashes"`
}

// ConsistencyProof is the body of GET /v1/log/proof/consistency: the proof
// that the tree of From leaves is a prefix of the tree of To leaves.
type ConsistencyProof struct {
	From   uint64   `json:"from"`
	To     uint64   `json:"to"`
	Hashes [][]byte `json:"hashes"`
}
