package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/connectd/connectd/connector"
)

// s3Store keeps objects in an S3 bucket through aws-sdk-go-v2. The SDK's
// own retries are off: an error goes back to the framework, which owns the
// single backoff loop (connector.Retryable).
type s3Store struct {
	client   *s3.Client
	bucket   string
	partSize int64
	timeout  time.Duration
}

// newS3Store builds the client. It reads the AWS default configuration
// (environment, shared files) but makes no request.
func newS3Store(ctx context.Context, c *Config) (*s3Store, error) {
	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithRegion(c.Region),
		awsconfig.WithRetryMaxAttempts(1),
	}
	if c.AccessKeyID != "" {
		opts = append(opts, awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, "")))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("s3 sink: loading the AWS configuration: %w", err)
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if c.StoreURL != "" {
			o.BaseEndpoint = aws.String(c.StoreURL)
		}
		o.UsePathStyle = c.PathStyle
		o.RetryMaxAttempts = 1
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	return &s3Store{client: client, bucket: c.Bucket, partSize: c.PartSize, timeout: c.RequestTimeout}, nil
}

func (s *s3Store) String() string { return "s3://" + s.bucket }

// call runs one request under the request timeout and classifies its error.
func (s *s3Store) call(ctx context.Context, what string, f func(ctx context.Context) error) error {
	rctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	err := f(rctx)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return s.classify(what, err)
}

func (s *s3Store) Check(ctx context.Context) error {
	// A listing, not HeadBucket: its errors carry a code (a HEAD answer
	// has no body, so a wrong key and a denied bucket look alike), and the
	// sink needs s3:ListBucket anyway.
	return s.call(ctx, "check bucket", func(ctx context.Context) error {
		_, err := s.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket), MaxKeys: aws.Int32(1)})
		return err
	})
}

func (s *s3Store) Put(ctx context.Context, key string, body []byte, ifAbsent bool) error {
	if int64(len(body)) > s.partSize {
		return s.putMultipart(ctx, key, body, ifAbsent)
	}
	var cond *string
	if ifAbsent {
		cond = aws.String("*")
	}
	return s.call(ctx, "put "+key, func(ctx context.Context) error {
		_, err := s.client.PutObject(ctx, &s3.PutObjectInput{
			Bucket:        aws.String(s.bucket),
			Key:           aws.String(key),
			Body:          bytes.NewReader(body),
			ContentLength: aws.Int64(int64(len(body))),
			IfNoneMatch:   cond,
		})
		return err
	})
}

// putMultipart uploads body in parts of partSize. A failed upload is
// aborted, so no parts are left behind (unless the abort fails too: a
// bucket lifecycle rule for incomplete multipart uploads cleans those).
func (s *s3Store) putMultipart(ctx context.Context, key string, body []byte, ifAbsent bool) error {
	var id *string
	err := s.call(ctx, "start multipart upload of "+key, func(ctx context.Context) error {
		out, err := s.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
		if err == nil {
			id = out.UploadId
		}
		return err
	})
	if err != nil {
		return err
	}
	abort := func() {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.timeout)
		defer cancel()
		_, _ = s.client.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{Bucket: aws.String(s.bucket), Key: aws.String(key), UploadId: id})
	}
	var parts []types.CompletedPart
	for n, off := int32(1), int64(0); off < int64(len(body)); n, off = n+1, off+s.partSize {
		chunk := body[off:min(off+s.partSize, int64(len(body)))]
		err := s.call(ctx, fmt.Sprintf("upload part %d of %s", n, key), func(ctx context.Context) error {
			out, err := s.client.UploadPart(ctx, &s3.UploadPartInput{
				Bucket: aws.String(s.bucket), Key: aws.String(key), UploadId: id,
				PartNumber: aws.Int32(n), Body: bytes.NewReader(chunk), ContentLength: aws.Int64(int64(len(chunk))),
			})
			if err == nil {
				parts = append(parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(n)})
			}
			return err
		})
		if err != nil {
			abort()
			return err
		}
	}
	var cond *string
	if ifAbsent {
		cond = aws.String("*")
	}
	err = s.call(ctx, "complete multipart upload of "+key, func(ctx context.Context) error {
		_, err := s.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
			Bucket: aws.String(s.bucket), Key: aws.String(key), UploadId: id,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
			IfNoneMatch:     cond,
		})
		return err
	})
	if err != nil {
		abort()
	}
	return err
}

func (s *s3Store) Get(ctx context.Context, key string) ([]byte, error) {
	var b []byte
	err := s.call(ctx, "get "+key, func(ctx context.Context) error {
		out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
		if err != nil {
			return err
		}
		defer out.Body.Close()
		b, err = io.ReadAll(out.Body)
		return err
	})
	return b, err
}

func (s *s3Store) List(ctx context.Context, prefix, startAfter string) ([]string, error) {
	var keys []string
	var token *string
	for {
		var out *s3.ListObjectsV2Output
		err := s.call(ctx, "list "+prefix, func(ctx context.Context) error {
			in := &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket), Prefix: aws.String(prefix), ContinuationToken: token}
			if startAfter != "" && token == nil {
				in.StartAfter = aws.String(startAfter)
			}
			var err error
			out, err = s.client.ListObjectsV2(ctx, in)
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, o := range out.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
		if !aws.ToBool(out.IsTruncated) || out.NextContinuationToken == nil {
			return keys, nil
		}
		token = out.NextContinuationToken
	}
}

func (s *s3Store) Delete(ctx context.Context, keys []string) error {
	for len(keys) > 0 {
		n := min(len(keys), 1000)
		objs := make([]types.ObjectIdentifier, n)
		for i, k := range keys[:n] {
			objs[i] = types.ObjectIdentifier{Key: aws.String(k)}
		}
		err := s.call(ctx, "delete "+keys[0], func(ctx context.Context) error {
			out, err := s.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(s.bucket), Delete: &types.Delete{Objects: objs, Quiet: aws.Bool(true)}})
			if err != nil {
				return err
			}
			for _, e := range out.Errors {
				if aws.ToString(e.Code) == "NoSuchKey" {
					continue
				}
				return &smithy.GenericAPIError{Code: aws.ToString(e.Code), Message: aws.ToString(e.Key) + ": " + aws.ToString(e.Message)}
			}
			return nil
		})
		if err != nil {
			return err
		}
		keys = keys[n:]
	}
	return nil
}

// classify turns an SDK error into the sink's vocabulary: errExists for a
// failed If-None-Match, errNotFound for a missing key, a fatal error with
// the fix for access and configuration problems, retryable for the rest
// that can pass (5xx, throttling, timeouts, a server that is down).
func (s *s3Store) classify(what string, err error) error {
	wrap := func(format string, args ...any) error {
		return fmt.Errorf("s3 sink: %s in bucket %q: "+format, append([]any{what, s.bucket}, args...)...)
	}
	status := 0
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	code := ""
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	switch {
	case code == "PreconditionFailed" || status == http.StatusPreconditionFailed:
		return errExists
	case code == "NoSuchKey" || (status == http.StatusNotFound && strings.HasPrefix(what, "get ")):
		return errNotFound
	case code == "NoSuchBucket" || (status == http.StatusNotFound && what == "check bucket"):
		return wrap("the bucket does not exist: create it or fix s3.bucket.name (and s3.region, store.url, s3.path.style.access)")
	case code == "InvalidAccessKeyId" || code == "SignatureDoesNotMatch" || code == "InvalidToken" || code == "ExpiredToken":
		return wrap("the credentials were refused (%s): fix aws.access.key.id and aws.secret.access.key or the AWS credential chain", code)
	case code == "AccessDenied" || code == "AllAccessDisabled" || status == http.StatusForbidden:
		return wrap("access denied (%v): grant the credentials s3:PutObject, s3:GetObject, s3:ListBucket and s3:DeleteObject on the bucket, or fix aws.access.key.id", err)
	case code == "PermanentRedirect" || code == "AuthorizationHeaderMalformed" || code == "IllegalLocationConstraintException":
		return wrap("wrong region or endpoint (%s): fix s3.region or store.url", code)
	case code == "SlowDown" || code == "Throttling" || code == "RequestTimeout" || code == "InternalError" ||
		code == "ServiceUnavailable" || code == "ConditionalRequestConflict" || code == "OperationAborted" ||
		status == http.StatusTooManyRequests || status >= 500 || status == http.StatusConflict:
		return connector.Retryable(wrap("%w", err), 0)
	case status == 0:
		// No answer: the server is down, unreachable or too slow.
		var ne net.Error
		if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "connection") {
			return connector.Retryable(wrap("%w", err), 0)
		}
	}
	return wrap("%w", err)
}
