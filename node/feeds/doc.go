// Package feeds is peer-to-peer change feeds: a department subscribes to
// another's dataset (one record category: administrative_penalty,
// abnormal_operation, untrustworthy_list, licences…) and pulls the changes
// since its cursor, under the provider's policy for the statutory purpose
// administrative_supervision.
//
// The provider numbers every insert or update of a record (store
// record_changes, migration 0009). A pull is a JWS-signed Request naming the
// feed and the cursor; the provider answers with a Batch of the changes after
// it, each record projected to the fields the policy allows, signed (JWS,
// EdDSA) and then encrypted with age to the subscriber's registered X25519
// key. Signing comes first, inside: age does not authenticate the sender,
// so an age file alone proves nothing about who wrote it (threats.md 14).
// Before the batch leaves, the provider decides the policy and appends one
// inquiry-log entry per subject in it (an empty batch gets one entry with no
// subject), so every subject can read who received its records, when and why.
//
// The subscriber checks everything (age, signature by the provider's
// registered key, issuer, audience, request id, feed, that the batch starts
// at its cursor, every record against its category schema) and applies the
// batch in one transaction with the new cursor (store ApplyFeed): records are
// upserted by (subject, category, "provider/id"), so a subscriber that
// crashes mid-batch has applied nothing and pulls the same changes again, and
// a batch applied twice changes nothing. Records a subscriber applies are
// changes of its own, so feeds can be chained.
//
// A record that may no longer be shared — deleted at the provider, removed
// after an objection, past the 5-year rule, or repaired when the purpose
// withholds repaired records — is delivered as withdrawn, without data, and
// the subscriber deletes its copy; in a chain the deletion is itself a change
// and travels on.
//
// The package never logs record contents.
package feeds
