package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/sinks/iceberg"
)

// This file is `connectd iceberg`: maintenance of the Iceberg sink's
// tables (compaction, snapshot expiry, orphan removal) and a look at the
// offsets the sink stored in them.

const icebergUsage = `Usage: connectd iceberg <command> --catalog-uri FILE|URL [--warehouse W] --table NS.TABLE [flags]

Commands:
  compact            rewrite each partition's small data files into bigger ones, in one
                     commit that keeps the sinks' offsets in the new snapshot
  expire-snapshots   expire snapshots older than --older-than (keeping --retain-last and
                     the snapshot holding the sinks' offsets) and delete files only they used
  remove-orphans     delete files no snapshot references, older than --older-than
                     (data files of commits that failed or whose worker died)
  offsets            print the offsets each connector stored in the table

Every command takes --catalog-uri (the SQLite catalog file, or a REST
catalog's http(s):// base URL), --catalog-type (sql or rest; by default rest
when --catalog-uri is an http(s) URL), --warehouse (file:///dir or
s3://bucket/prefix for sql; for rest what the server expects, optional),
--table and --prop KEY=VALUE (repeatable: catalog and io properties such as
s3.endpoint=http://127.0.0.1:9000, s3.access-key-id=..., s3.secret-access-key=...,
s3.region=..., and for rest credential=ID:SECRET, token=..., scope=...,
oauth2-server-uri=..., prefix=...).
Run 'connectd iceberg <command> --help' for its flags.
`

// cmdIceberg runs `connectd iceberg <command>`.
func cmdIceberg(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, icebergUsage)
		if len(args) == 0 {
			return usageError{"missing command"}
		}
		return nil
	}
	sub, args := args[0], args[1:]
	fs := newFlags("iceberg "+sub, "iceberg "+sub+" --catalog-uri FILE|URL [--warehouse W] --table NS.TABLE [flags]", stderr)
	uri := fs.String("catalog-uri", "", "SQLite file of the SQL catalog, or the REST catalog's http(s) base URL (the sink's iceberg.catalog.uri)")
	ctype := fs.String("catalog-type", "", "sql or rest (iceberg.catalog.type); default rest for an http(s) --catalog-uri, else sql")
	warehouse := fs.String("warehouse", "", "warehouse: file:///dir or s3://bucket/prefix for sql; for rest as the server expects, optional (iceberg.catalog.warehouse)")
	name := fs.String("catalog-name", "connectd", "catalog name (iceberg.catalog.name)")
	tbl := fs.String("table", "", "the table, namespace.table")
	var props stringList
	fs.Var(&props, "prop", "catalog or io property KEY=VALUE (repeatable), such as s3.endpoint=http://127.0.0.1:9000 or, for rest, credential=ID:SECRET")
	var target *int64
	var minFiles *int
	var olderThan *time.Duration
	var retain *int
	var dryRun *bool
	switch sub {
	case "compact":
		target = fs.Int64("target-file-bytes", 128<<20, "files smaller than this are rewritten, into files of about this size")
		minFiles = fs.Int("min-files", 2, "fewest small files of one partition worth rewriting")
	case "expire-snapshots":
		olderThan = fs.Duration("older-than", 7*24*time.Hour, "expire snapshots older than this")
		retain = fs.Int("retain-last", 10, "keep at least this many snapshots")
	case "remove-orphans":
		olderThan = fs.Duration("older-than", 24*time.Hour, "only files older than this: keep it above the longest commit of a running sink")
		dryRun = fs.Bool("dry-run", false, "list the orphans, delete nothing")
	case "offsets":
	default:
		fmt.Fprint(stderr, icebergUsage)
		return usageError{fmt.Sprintf("unknown command %q", sub)}
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *uri == "" || *tbl == "" {
		return usageError{"--catalog-uri and --table are required"}
	}
	typ := *ctype
	switch {
	case typ == "" && (strings.HasPrefix(*uri, "http://") || strings.HasPrefix(*uri, "https://")):
		typ = "rest"
	case typ == "":
		typ = "sql"
	case typ != "sql" && typ != "rest":
		return usageError{fmt.Sprintf("--catalog-type %q: want sql or rest", typ)}
	}
	wh := *warehouse
	if typ == "sql" && wh != "" && !strings.Contains(wh, "://") {
		abs, err := filepath.Abs(wh)
		if err != nil {
			return err
		}
		wh = "file://" + abs
	}
	opts := iceberg.CatalogOptions{Type: typ, URI: *uri, Warehouse: wh, Name: *name, Props: map[string]string{}}
	for _, p := range props {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return usageError{fmt.Sprintf("--prop %q: want KEY=VALUE", p)}
		}
		opts.Props[k] = v
	}
	cat, err := iceberg.OpenCatalog(ctx, opts)
	if err != nil {
		return err
	}
	defer iceberg.CloseCatalog(cat)
	switch sub {
	case "compact":
		r, err := iceberg.Compact(ctx, cat, *tbl, iceberg.CompactOptions{TargetFileBytes: *target, MinFiles: *minFiles})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: %d data files before, %d after: %d rewritten into %d (%d rows)\n", *tbl, r.FilesBefore, r.FilesAfter, r.Rewritten, r.Written, r.Rows)
	case "expire-snapshots":
		r, err := iceberg.ExpireSnapshots(ctx, cat, *tbl, iceberg.ExpireOptions{OlderThan: *olderThan, RetainLast: *retain})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: %d snapshots before, %d after\n", *tbl, r.Before, r.After)
	case "remove-orphans":
		files, err := iceberg.RemoveOrphans(ctx, cat, *tbl, *olderThan, *dryRun)
		if err != nil {
			return err
		}
		verb := "removed"
		if *dryRun {
			verb = "would remove"
		}
		for _, f := range files {
			fmt.Fprintln(stdout, f)
		}
		fmt.Fprintf(stdout, "%s: %s %d orphan files\n", *tbl, verb, len(files))
	case "offsets":
		t, err := cat.LoadTable(ctx, iceberg.Ident(*tbl))
		if err != nil {
			return fmt.Errorf("load table %s: %w", *tbl, err)
		}
		all, err := iceberg.AllStoredOffsets(t)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%-24s %-32s %10s %12s\n", "CONNECTOR", "TOPIC", "PARTITION", "NEXT OFFSET")
		for _, c := range slices.Sorted(maps.Keys(all)) {
			offs := all[c]
			tps := slices.Collect(maps.Keys(offs))
			slices.SortFunc(tps, func(a, b connector.TopicPartition) int {
				if a.Topic != b.Topic {
					return strings.Compare(a.Topic, b.Topic)
				}
				return int(a.Partition - b.Partition)
			})
			for _, tp := range tps {
				fmt.Fprintf(stdout, "%-24s %-32s %10d %12d\n", c, tp.Topic, tp.Partition, offs[tp])
			}
		}
	}
	return nil
}
