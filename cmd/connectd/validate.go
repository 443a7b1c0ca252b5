package main

import (
	"context"
	"fmt"
	"io"

	"github.com/connectd/connectd/worker"
)

func cmdValidate(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("validate", "validate FILE...\n\nChecks connector config files (Kafka Connect's {\"name\", \"config\"} JSON) and prints every\nproblem of every file; exits 1 if there is any.", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usageError{"name at least one connector file"}
	}
	reg, err := newRegistry()
	if err != nil {
		return err
	}
	problems := 0
	for _, f := range fs.Args() {
		cfgs, err := worker.LoadFiles(reg, []string{f})
		if err != nil {
			fmt.Fprintln(stdout, err)
			problems++
			continue
		}
		fmt.Fprintf(stdout, "%s: ok (connector %q, %s %s, %d task(s))\n", f, cfgs[0].Name, cfgs[0].Plugin.Kind, cfgs[0].Plugin.Class, cfgs[0].Common.TasksMax)
	}
	if problems > 0 {
		return fmt.Errorf("%d of %d file(s) have problems", problems, fs.NArg())
	}
	return nil
}
