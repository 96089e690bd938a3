// Command re2oracle answers, for the differential tests of src/sigstore/re2.ts, what Go's regexp says:
// it reads {"patterns": [...], "inputs": [...]} as JSON on stdin and writes, for each pattern, the
// regexp.Compile error text (or "") and regexp.MatchString of every input.
package main

import (
	"encoding/json"
	"os"
	"regexp"
)

type request struct {
	Patterns []string `json:"patterns"`
	Inputs   []string `json:"inputs"`
}

type answer struct {
	Error   string `json:"error"`
	Matches []bool `json:"matches"`
}

func main() {
	var req request
	if err := json.NewDecoder(os.Stdin).Decode(&req); err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(2)
	}
	out := make([]answer, 0, len(req.Patterns))
	for _, p := range req.Patterns {
		re, err := regexp.Compile(p)
		if err != nil {
			out = append(out, answer{Error: err.Error(), Matches: []bool{}})
			continue
		}
		m := make([]bool, len(req.Inputs))
		for i, in := range req.Inputs {
			m[i] = re.MatchString(in)
		}
		out = append(out, answer{Matches: m})
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		os.Exit(2)
	}
}
