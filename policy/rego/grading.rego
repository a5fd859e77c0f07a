# METADATA
# title: Credit grading for supervision
# description: |
#   Grades a subject A (best) to D (worst) from the facts a node gathered
#   about it, for "double random, one public" supervision: the grade sets the
#   share of subjects drawn for random inspection and how often. The rules
#   that fire are the reasons; the grade is the worst grade among them, A if
#   none fires.
#
#   Facts come from the Go caller (node/grading), one entry per record:
#   penalties with their decision date, penalty text and amount; list entries,
#   abnormal-operation listings and commitments already evaluated for the day
#   (in_force, overdue); tax credit grades by year. Windows, severity and
#   thresholds are all in data.creditnode.config.grading, so the federation
#   changes them with a signed bundle.
#
#   The single entry point is `result`. It is undefined for malformed input:
#   the caller must then refuse to grade rather than guess.
package creditnode.grading

cfg := data.creditnode.config.grading

rank := {"A": 0, "B": 1, "C": 2, "D": 3}

date_layout := "2006-01-02"

day_ns := ((24 * 60) * 60) * 1000000000

# ---------------------------------------------------------------------------
# Result

result := {
	"grade": grade,
	"reasons": reasons,
	"facts": facts,
	"inspection": cfg.inspection[grade],
} if well_formed

# The worst grade among the rules that fired; A when none did.
grade := g if {
	worst := max(array.concat([0], [rank[r.grade] | some r in reasons]))
	some g, n in rank
	n == worst
}

reasons := sort_reasons(fired)

sort_reasons(s) := [r | some code in sort([r.code | some r in s]); some r in s; r.code == code]

# Threshold rules from data: a fact at or above `min` fires the rule.
fired contains {"code": r.code, "grade": r.grade, "count": n} if {
	some r in cfg.rules
	n := facts[r.fact]
	n >= r.min
}

# The latest year's tax credit grade, mapped to a supervision grade.
fired contains {"code": sprintf("tax_credit_grade_%s", [t]), "grade": g, "count": 1} if {
	t := latest_tax_grade
	g := cfg.tax_credit_grades[t]
	g != "A"
}

# ---------------------------------------------------------------------------
# Facts

facts := {
	"penalties_recent": count(penalties_within(cfg.recent_days)),
	"severe_penalties_recent": count([p | some p in penalties_within(cfg.recent_days); severe(p)]),
	"severe_penalties_long": count([p | some p in penalties_within(cfg.long_days); severe(p)]),
	"list_entries_in_force": count([e | some e in input.list_entries; e.in_force == true]),
	"abnormal_operations_in_force": count([e | some e in input.abnormal_operations; e.in_force == true]),
	"overdue_commitments": count([c | some c in input.commitments; c.overdue == true]),
}

now_ns := time.parse_ns(date_layout, input.as_of)

# Days from the decision to as_of: 0 on the day itself.
age_days(date) := (now_ns - time.parse_ns(date_layout, date)) / day_ns

# Penalties decided within the last `days` days, as_of included: ages 0 to
# days-1. A decision dated after as_of does not count yet.
penalties_within(days) := [p |
	some p in input.penalties
	a := age_days(p.decision_date)
	a >= 0
	a < days
]

severe(p) if p.amount >= cfg.severe_penalty.min_amount

severe(p) if {
	some kw in cfg.severe_penalty.keywords
	contains(lower(p.penalty), lower(kw))
}

latest_tax_grade := t if {
	years := [x.year | some x in input.tax; is_string(x.tax_credit_grade); x.tax_credit_grade != ""]
	count(years) > 0
	latest := max(years)
	grades := {x.tax_credit_grade | some x in input.tax; x.year == latest; is_string(x.tax_credit_grade); x.tax_credit_grade != ""}

	# Two records for one year that disagree: take the worse.
	t := worst_tax(grades)
}

tax_rank := {"A": 0, "B": 1, "M": 2, "C": 3, "D": 4}

worst_tax(gs) := g if {
	worst := max([tax_rank[x] | some x in gs])
	some g, n in tax_rank
	n == worst
}

# ---------------------------------------------------------------------------
# Input shape

well_formed if {
	is_object(input)
	is_string(input.subject)
	input.subject != ""
	time.parse_ns(date_layout, input.as_of)
	is_array(input.penalties)
	every p in input.penalties {
		is_string(p.decision_date)
		time.parse_ns(date_layout, p.decision_date)
		is_string(p.penalty)
		is_number(p.amount)
	}
	flagged(input.list_entries, "in_force")
	flagged(input.abnormal_operations, "in_force")
	flagged(input.commitments, "overdue")
	is_array(input.tax)
	every x in input.tax {
		is_number(x.year)
		is_string(x.tax_credit_grade)
		known_tax_grade(x.tax_credit_grade)
	}
}

flagged(xs, key) if {
	is_array(xs)
	every x in xs {
		is_boolean(x[key])
	}
}

known_tax_grade(g) if g == ""

known_tax_grade(g) if cfg.tax_credit_grades[g]
