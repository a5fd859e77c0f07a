// Package rights holds the rules of subjects' rights over the records a node
// provides, and the operator's side of them:
//
//   - objections (Credit Reporting Industry Regulation art. 25): a subject's
//     objection flags the record as disputed and must be answered within
//     AnswerWithin (20 days); an open objection older than that is overdue;
//   - credit repair: an approved application withholds a negative record from
//     the purposes the policy names (obligation "withhold_repaired");
//   - retention (art. 16): negative information is not provided once
//     RetentionYears have passed since its conduct_end, and Manager.Purge
//     deletes it, writing one audit entry in the inquiry log.
//
// Every rule takes the time as an argument, so deadlines are testable with
// any clock. The package never logs record contents or subjects' reasons.
package rights

// ObligationWithholdRepaired is the policy obligation that, when true,
// withholds records whose credit repair was approved from an answer (a
// query's or a feed's).
const ObligationWithholdRepaired = "withhold_repaired"
