package devnet

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/schemas/uscc"
)

// SME is a small enterprise of the demo data set.
type SME struct {
	USCC string
	Name string
}

// DemoSMEs returns n enterprises with valid USCCs (check characters computed
// per GB 32100-2015) and plausible names.
func DemoSMEs(n int) ([]SME, error) {
	names := []string{"Hangzhou Lianhe Textiles Co., Ltd.", "Shenzhen Qianhai Logistics Co., Ltd.", "Chengdu Tianfu Foods Co., Ltd.",
		"Suzhou Jinji Precision Parts Co., Ltd.", "Wuhan Guanggu Software Co., Ltd.", "Xiamen Haicang Trading Co., Ltd."}
	divisions := []string{"330106", "440305", "510107", "320505", "420111", "350205"}
	out := make([]SME, 0, n)
	for i := 0; i < n; i++ {
		first16 := fmt.Sprintf("91%sMA%06d", divisions[i%len(divisions)], 100000+i*3137)
		code, err := uscc.Complete(first16)
		if err != nil {
			return nil, err
		}
		out = append(out, SME{USCC: code, Name: names[i%len(names)]})
	}
	return out, nil
}

// TaxRecords are a tax department's records for the SMEs.
func TaxRecords(smes []SME, now time.Time) []records.Record {
	var out []records.Record
	for i, s := range smes {
		for y := 0; y < 2; y++ {
			year := now.Year() - 1 - y
			out = append(out, rec(s.USCC, "tax_payment", fmt.Sprintf("tax-%d", year), now, map[string]any{
				"year": year, "tax_paid": 182000.0 + float64(i*25000-y*9000), "tax_credit_grade": []string{"A", "B", "M"}[(i+y)%3],
				"arrears": float64((i % 2) * 1200), "declared_revenue": 3100000.0 + float64(i*410000),
			}))
		}
		out = append(out, rec(s.USCC, "social_insurance", fmt.Sprintf("si-%d-12", now.Year()-1), now, map[string]any{
			"month": fmt.Sprintf("%d-12", now.Year()-1), "insured_headcount": 18 + i*7, "contribution_base": 6200.0 + float64(i*300), "arrears": 0.0,
		}))
	}
	return out
}

// RegistrationRecords are a market-regulation department's records.
func RegistrationRecords(smes []SME, now time.Time) []records.Record {
	var out []records.Record
	for i, s := range smes {
		out = append(out, rec(s.USCC, "registration", "reg", now, map[string]any{
			"name": s.Name, "legal_representative": []string{"Zhang Wei", "Li Na", "Wang Fang", "Liu Yang", "Chen Jing", "Zhao Lei"}[i%6],
			"registered_capital": 5000000.0 + float64(i*1000000), "established": fmt.Sprintf("%d-03-15", 2012+i),
			"status": "in_business", "address": "Industrial Park Road " + fmt.Sprint(10+i), "industry": "manufacturing",
		}))
	}
	return out
}

func rec(subject, category, id string, now time.Time, data map[string]any) records.Record {
	b, err := json.Marshal(data)
	if err != nil {
		panic(err) // only maps of plain values above
	}
	return records.Record{Subject: subject, Category: category, ID: id, Data: b, UpdatedAt: now.UTC()}
}
