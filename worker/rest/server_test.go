package rest_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/worker"
	"github.com/connectd/connectd/worker/rest"
)

// noKafka is a worker.Kafka for a worker that never runs a task.
type noKafka struct{}

func (noKafka) NewConsumer(connector.ConsumerConfig) (connector.Consumer, error) {
	return nil, errors.New("no kafka")
}
func (noKafka) NewCommitter(connector.ProducerConfig) (connector.Committer, error) {
	return nil, errors.New("no kafka")
}
func (noKafka) Admin() connector.Admin        { return nil }
func (noKafka) Reader() connector.TopicReader { return nil }

func idleWorker(t *testing.T) *worker.Worker {
	t.Helper()
	w, err := worker.New(worker.Options{Registry: connector.NewRegistry(), Kafka: noKafka{}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

func TestNewNeedsWorker(t *testing.T) {
	if _, err := rest.New(rest.Options{}); err == nil || err.Error() != "rest: Options.Worker is required" {
		t.Errorf("New without a worker: %v", err)
	}
}

// TestClusterIDAndOptionalLevels: GET / reports a failing cluster id as a
// 500 with the cause, keeps the first id it gets, and the logger endpoints
// are absent without Levels.
func TestClusterIDAndOptionalLevels(t *testing.T) {
	var calls atomic.Int32
	srv, err := rest.New(rest.Options{
		Worker: idleWorker(t), Version: "v", Commit: "c",
		ClusterID: func(context.Context) (string, error) {
			if calls.Add(1)%2 == 1 {
				return "", errors.New("broker away")
			}
			return "cid", nil
		},
		MaxBodyBytes: 16,
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	for i, want := range []struct {
		code int
		body string
	}{
		{500, `{"error_code":500,"message":"Could not read the Kafka cluster id: broker away"}`},
		{200, `{"version":"v","commit":"c","kafka_cluster_id":"cid"}`},
		{200, `{"version":"v","commit":"c","kafka_cluster_id":"cid"}`}, // kept: not asked again
	} {
		if code, body := get(t, hs.URL+"/"); code != want.code || body != want.body {
			t.Errorf("GET / #%d: %d %s, want %d %s", i, code, body, want.code, want.body)
		}
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("ClusterID called %d times, want 2", n)
	}
	if code, body := get(t, hs.URL+"/admin/loggers"); code != 404 || body != `{"error_code":404,"message":"HTTP 404 Not Found"}` {
		t.Errorf("GET /admin/loggers without Levels: %d %s", code, body)
	}
	resp, err := http.Post(hs.URL+"/connectors", "application/json", strings.NewReader(`{"name": "x", "config": {}}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || strings.TrimSpace(string(b)) != `{"error_code":400,"message":"Request body is larger than the limit of 16 bytes"}` {
		t.Errorf("oversized body: %d %s", resp.StatusCode, b)
	}
}

// TestServe: Serve answers until its context ends, then returns nil and
// closes the listener; a listener that fails is an error.
func TestServe(t *testing.T) {
	srv, err := rest.New(rest.Options{Worker: idleWorker(t)})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	url := "http://" + ln.Addr().String()
	if code, body := get(t, url+"/health"); code != 503 || body != `{"status":"starting","message":"Worker is still starting up."}` {
		t.Errorf("GET /health: %d %s", code, body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
	}
	if _, err := http.Get(url + "/health"); err == nil {
		t.Error("the listener still answers after Serve returned")
	}

	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln2.Close()
	if err := srv.Serve(context.Background(), ln2); err == nil || !strings.Contains(err.Error(), "rest: serve on") {
		t.Errorf("Serve on a closed listener: %v", err)
	}
}
