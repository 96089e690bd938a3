// Command gofloor is the performance floor of the WorkloadAttestor plugin: a go-plugin (Debian go-plugin
// 1.0.1, grpc-go 1.33) gRPC plugin that serves the same services as k8s-attestor (Init, Config,
// WorkloadAttestor) and answers every Attest with a fixed list of selectors, read once at start-up from the
// file named by its only argument (one selector value a line). Nothing is looked up: what an Attest costs
// here is the go-plugin/grpc-go transport alone, which is what `deno task bench:table` compares the real
// plugin with (through the same Go host, tools/gohost in -bench mode).
//
// Messages are hand-encoded protobuf through a pass-through codec, as in tools/gohost, so no generated Go
// code is needed. The request's PID is decoded (a real plugin has to) but not used.
//
// Usage (go-plugin starts it; run by hand it prints go-plugin's "not a plugin" message):
//
//	gofloor SELECTORS_FILE
package main

import (
	"context"
	"errors"
	"fmt"
	"io/ioutil"
	"os"
	"strings"

	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
)

const (
	cookie          = "WorkloadAttestor"
	pluginName      = "workloadattestor"
	attestorService = "spire.plugin.agent.workloadattestor.v1.WorkloadAttestor"
	configService   = "spire.service.common.config.v1.Config"
	initService     = "spire.service.private.init.v1.Init"
)

// passThroughCodec hands *[]byte messages through unchanged and everything else (go-plugin's own health,
// broker and controller services) to the real protobuf codec. It is registered as "proto", the name grpc-go
// looks up for content-type application/grpc.
type passThroughCodec struct{ proto encoding.Codec }

func (c passThroughCodec) Marshal(v interface{}) ([]byte, error) {
	if b, ok := v.(*[]byte); ok {
		return *b, nil
	}
	return c.proto.Marshal(v)
}

func (c passThroughCodec) Unmarshal(data []byte, v interface{}) error {
	if b, ok := v.(*[]byte); ok {
		*b = append((*b)[:0], data...)
		return nil
	}
	return c.proto.Unmarshal(data, v)
}

func (passThroughCodec) Name() string { return "proto" }

func init() {
	encoding.RegisterCodec(passThroughCodec{proto: encoding.GetCodec("proto")})
}

func appendVarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func appendStringField(b []byte, field int, s string) []byte {
	b = appendVarint(b, uint64(field)<<3|2)
	b = appendVarint(b, uint64(len(s)))
	return append(b, s...)
}

// attestPID decodes AttestRequest.pid (field 1, int32 varint); other fields are skipped only if absent.
func attestPID(b []byte) (int32, error) {
	if len(b) == 0 {
		return 0, nil
	}
	if b[0] != 1<<3 {
		return 0, errors.New("unexpected AttestRequest field")
	}
	var v uint64
	for i := 1; i < len(b) && i < 11; i++ {
		v |= uint64(b[i]&0x7f) << (7 * uint(i-1))
		if b[i] < 0x80 {
			return int32(v), nil
		}
	}
	return 0, errors.New("truncated pid")
}

type floor struct {
	plugin.NetRPCUnsupportedPlugin
	attestResponse []byte
	initResponse   []byte
}

func unary(name string, h func(req []byte) ([]byte, error)) grpc.MethodDesc {
	return grpc.MethodDesc{
		MethodName: name,
		Handler: func(_ interface{}, _ context.Context, dec func(interface{}) error, _ grpc.UnaryServerInterceptor) (interface{}, error) {
			var req []byte
			if err := dec(&req); err != nil {
				return nil, err
			}
			out, err := h(req)
			if err != nil {
				return nil, err
			}
			return &out, nil
		},
	}
}

func service(name string, methods ...grpc.MethodDesc) *grpc.ServiceDesc {
	return &grpc.ServiceDesc{ServiceName: name, HandlerType: (*interface{})(nil), Methods: methods}
}

// GRPCServer registers the three services on go-plugin's server.
func (f *floor) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	empty := func([]byte) ([]byte, error) { return []byte{}, nil }
	s.RegisterService(service(initService,
		unary("Init", func([]byte) ([]byte, error) { return f.initResponse, nil }),
		unary("Deinit", empty),
	), nil)
	s.RegisterService(service(configService, unary("Configure", empty), unary("Validate", empty)), nil)
	s.RegisterService(service(attestorService, unary("Attest", func(req []byte) ([]byte, error) {
		if _, err := attestPID(req); err != nil {
			return nil, err
		}
		return f.attestResponse, nil
	})), nil)
	return nil
}

func (*floor) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (interface{}, error) {
	return nil, errors.New("plugin side only")
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gofloor SELECTORS_FILE")
		os.Exit(2)
	}
	data, err := ioutil.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "gofloor:", err)
		os.Exit(2)
	}
	f := &floor{}
	for _, line := range strings.Split(string(data), "\n") {
		if line != "" {
			f.attestResponse = appendStringField(f.attestResponse, 1, line)
		}
	}
	f.initResponse = appendStringField(appendStringField(nil, 1, attestorService), 1, configService)
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: plugin.HandshakeConfig{
			ProtocolVersion:  1,
			MagicCookieKey:   cookie,
			MagicCookieValue: cookie,
		},
		Plugins:    map[string]plugin.Plugin{pluginName: f},
		GRPCServer: plugin.DefaultGRPCServer,
	})
}
