// Package remote runs node/joint's guest/host protocol between nodes, over the member API,
// under policy, logged, with jobs whose state survives a restart.
//
// # Wire
//
// Every request is a compact JWS (schemas.TypJointRequest) signed by the guest node's key and
// sent over the pinned mutual-TLS member API to one of the routes below; the host checks it
// exactly as it checks a query: a registered key of the TLS peer, issuer = TLS peer, audience =
// this node, issued-at within the skew window, the request id never seen before (durable: it is
// committed with the request's inquiry-log entry). The answer (schemas.TypJointAnswer) is signed
// by the host and encrypted (JWE) to the guest's registered X25519 key; errors are the node's
// usual {"error":{"code",…}} bodies. Conn is a joint.Conn over this; Service is the host side.
//
//	POST /v1/joint/propose  the job's terms: categories, label definition, cohort size, hosts
//	POST /v1/joint/step     one node/joint protocol message (joint.Marshal), answered by one
//	POST /v1/joint/finish   the guest has its model: the host keeps its weights for inference
//	POST /v1/joint/cancel   the job ends; its state is erased; later steps get job_cancelled
//	POST /v1/joint/status   where the job stands (schemas.JointStatus): state, terms as
//	                        proposed, regression iterations done, created/updated times;
//	                        only for the job's guest (any other member gets job_unknown);
//	                        never records, features, aggregates or the cohort
//	POST /v1/joint/aggregate one differentially private statistic (node/joint/aggregate) over
//	                        one category's data: policy as for a job; minimum query set,
//	                        differencing rule and the requester's ε budget, the ledger and the
//	                        answered query sets kept in the store (they survive a restart);
//	                        query_set_refused, privacy_budget_exceeded; every enterprise of the
//	                        query set is logged (outcome "… step aggregate KIND")
//
// The guest (Client) records every request in its outbound log before sending it, and the
// host's log index of the answer, or the failure, after.
//
// # Policy
//
// A host accepts a job only if its policy allows the purpose joint_modeling to the guest for
// every requested category WITHOUT a per-subject consent: the policy input names the job (not
// a subject) and carries no consent. Under the federation's policy that admits categories at
// the public level (and whatever else the policy in force opens to joint_modeling without
// consent); a category at the authorised level is refused (consent_missing), restricted ones
// need an approval (approval_missing). Training on authorised data would need every cohort
// member's consent; that is not implemented here. The one exception is inference: scoring a new
// applicant (a ScoreRequest naming the applicant) needs the applicant's joint_modeling consent
// to the guest, naming this host and covering the job's categories; it is verified like a
// query's (signature, registrar, validity, not revoked, uses left, one use consumed) and the
// policy decides again with the consent present.
//
// # Inquiry log
//
// Each request gets one entry (kind joint_modeling, no subject, the outcome
// "joint modelling job J, step S"), committed with its request id, allowed or denied. In
// addition every enterprise whose data the host uses gets an entry of its own, subject = the
// enterprise, with the same outcome text, appended through the log's sequencer (concurrently,
// so they are group-committed in batches) BEFORE the answer leaves:
//
//	step                   | enterprises logged
//	-----------------------+-------------------------------------------------------------
//	align_request          | every member of the host's data set (its identifier is blinded)
//	cohort_request         | the training cohort (its features are standardised)
//	bin_request            | the training cohort (binned against encrypted labels)
//	partial_request iter 0 | the training cohort, once for the whole regression: the later
//	                       | iterations (partials, gradients, unmasking) use the same rows
//	score_request          | the members scored (held-out evaluation) or the applicant
//
// # States
//
// proposed → aligned (align) → binned (bin) → training (first partial) → done (finish);
// cancelled (cancel, from any state but done); failed (a step the host refuses as malformed:
// the guest deviated). The state and the host's session (joint.SessionState) are stored after
// every step, before the answer leaves, so a restarted host continues the job; a job that is
// cancelled or failed has its session erased. Steps of a cancelled job are refused with
// job_cancelled, steps out of order or after the end with job_state, a job of another guest
// is job_unknown. A step whose state was stored but whose log append then failed answers
// log_unavailable and nothing leaves; the job has moved on, so the guest cancels it and starts
// a new one.
//
// Limits: the stored session holds the host's whole element map (|X| entries) and is rewritten
// after every step; member-API bodies are bounded by the node's max_body_bytes (default 1 MiB)
// and answers by the client's 16 MiB, which bounds the cohort: a 2048-bit ciphertext is about
// 700 bytes in base64, and the binning request carries one per cohort member (about 21 MB at
// 30,000 members), so a host serving cohorts beyond about 1,400 members must raise
// max_body_bytes. Mini-batch steps (TrainParams.BatchSize) carry one ciphertext per batch member.
//
// The package never logs features, labels, records or protocol messages.
package remote
