package schemas

// SubjectProof is what a provider adds to a subject's log (SubjectLog.Proof)
// so that the subject can check, offline, that the entries it received are
// all the entries naming it up to a signed checkpoint (see node/subjectlog).
// Hashes and proofs are hex.
type SubjectProof struct {
	// Checkpoint is the signed note: a C2SP tlog-checkpoint of the inquiry
	// log with the subject-map extension lines, signed by the provider and
	// carrying the witness cosignatures the provider has collected.
	Checkpoint string `json:"checkpoint"`
	// VRFProof proves the subject's map key under the VRF key the checkpoint
	// names (ECVRF-EDWARDS25519-SHA512-TAI).
	VRFProof string `json:"vrf_proof"`
	// Count and Head are what the map holds for the subject (for diagnosis:
	// the verifier recomputes both from the entries).
	Count uint64 `json:"count"`
	Head  string `json:"head"`
	// MapSiblings is the sparse-Merkle path, root first.
	MapSiblings []string `json:"map_siblings"`
	// MapOtherKey and MapOtherValue are set when the subject has no entry in
	// the map and another key occupies its subtree.
	MapOtherKey   string `json:"map_other_key,omitempty"`
	MapOtherValue string `json:"map_other_value,omitempty"`
	// Inclusion holds one inclusion proof per entry committed by the
	// checkpoint (entries at or beyond its size have none yet).
	Inclusion []EntryInclusion `json:"inclusion"`
}

// EntryInclusion is the RFC 6962 inclusion proof of the log entry at Index
// in the tree of the checkpoint's size.
type EntryInclusion struct {
	Index uint64   `json:"index"`
	Proof []string `json:"proof"`
}
