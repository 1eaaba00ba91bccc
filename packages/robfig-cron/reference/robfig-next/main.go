// Prints what real robfig/cron v3 ParseStandard + Schedule.Next do for each case on stdin,
// so that the TypeScript port can be compared with it (see ../README.md).
// Build (GOPATH mode, Debian: apt-get install golang-go golang-github-robfig-cron-dev):
//   TZ=UTC GO111MODULE=off GOPATH=/usr/share/gocode go run ./robfig-next < cases.json
package main

import (
	"encoding/json"
	"os"
	"time"

	cron "github.com/robfig/cron"
)

type input struct {
	Spec  string `json:"spec"`
	From  string `json:"from"`
	Count int    `json:"count"`
}

type output struct {
	Spec  string   `json:"spec"`
	From  string   `json:"from"`
	Error bool     `json:"error,omitempty"`
	Next  []string `json:"next,omitempty"`
}

func main() {
	var cases []input
	if err := json.NewDecoder(os.Stdin).Decode(&cases); err != nil {
		panic(err)
	}
	out := make([]output, 0, len(cases))
	for _, c := range cases {
		o := output{Spec: c.Spec, From: c.From}
		s, err := parseNoPanic(c.Spec)
		if err != nil {
			o.Error = true
		} else {
			t, err := time.Parse(time.RFC3339, c.From)
			if err != nil {
				panic(err)
			}
			for i := 0; i < c.Count; i++ {
				t = s.Next(t)
				if t.IsZero() {
					o.Next = append(o.Next, "zero")
					break
				}
				o.Next = append(o.Next, t.UTC().Format(time.RFC3339))
			}
		}
		out = append(out, o)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	if err := enc.Encode(out); err != nil {
		panic(err)
	}
}

// robfig panics on a TZ= prefix without a space; count that as a parse error.
func parseNoPanic(spec string) (s cron.Schedule, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, errPanic{}
		}
	}()
	return cron.ParseStandard(spec)
}

type errPanic struct{}

func (errPanic) Error() string { return "panic" }
