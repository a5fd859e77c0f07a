package server

import "encoding/json"

// obligationsJSON returns a decision's obligations as canonical JSON for the
// inquiry log: encoding/json sorts map keys, and the values are plain
// strings, numbers and booleans. Nil or empty obligations give nil (the
// field is then omitted).
func obligationsJSON(ob map[string]any) json.RawMessage {
	if len(ob) == 0 {
		return nil
	}
	b, err := json.Marshal(ob)
	if err != nil {
		// Obligations come from the policy's JSON-shaped result; anything
		// that does not marshal is recorded as a marker, never dropped silently.
		return json.RawMessage(`{"unencodable":true}`)
	}
	return b
}
