// avb-otelcol: a minimal OpenTelemetry Collector for avb's OTLP export test (scripts/services.d/otelcol.sh).
// The collector proper (otelcol, the service, the pipelines) and the OTLP receiver are the upstream core
// modules; the one component written here is `jsonfile`, an exporter that appends every batch of traces to a
// file as one line of OTLP/JSON, encoded by the collector's own pdata JSON marshaler, so that a test can parse
// what arrived. (contrib's fileexporter does the same, but no contrib release at this core release was checked
// to be served; see docs/services.md.)
package main

import (
	"context"
	"errors"
	"log"
	"os"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/service/telemetry/otelconftelemetry"
)

// jsonfileConfig is the exporter's configuration: the file it appends to.
type jsonfileConfig struct {
	Path string `mapstructure:"path"`
}

func (c *jsonfileConfig) Validate() error {
	if c.Path == "" {
		return errors.New("jsonfile: `path` is required")
	}
	return nil
}

// jsonfile writes one OTLP/JSON line per batch and syncs it, so a reader sees whole lines only.
type jsonfile struct {
	path string
	mu   sync.Mutex
	file *os.File
}

func (j *jsonfile) start(context.Context, component.Host) error {
	f, err := os.OpenFile(j.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	j.file = f
	return nil
}

func (j *jsonfile) shutdown(context.Context) error {
	if j.file == nil {
		return nil
	}
	return j.file.Close()
}

func (j *jsonfile) push(_ context.Context, td ptrace.Traces) error {
	line, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
	if err != nil {
		return err
	}
	line = append(line, '\n')
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, err := j.file.Write(line); err != nil {
		return err
	}
	return j.file.Sync()
}

func jsonfileFactory() exporter.Factory {
	return exporter.NewFactory(
		component.MustNewType("jsonfile"),
		func() component.Config { return &jsonfileConfig{} },
		exporter.WithTraces(func(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Traces, error) {
			j := &jsonfile{path: cfg.(*jsonfileConfig).Path}
			return exporterhelper.NewTraces(ctx, set, cfg, j.push,
				exporterhelper.WithStart(j.start),
				exporterhelper.WithShutdown(j.shutdown),
				exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}))
		}, component.StabilityLevelDevelopment),
	)
}

func components() (otelcol.Factories, error) {
	receivers, err := otelcol.MakeFactoryMap[receiver.Factory](otlpreceiver.NewFactory())
	if err != nil {
		return otelcol.Factories{}, err
	}
	exporters, err := otelcol.MakeFactoryMap[exporter.Factory](jsonfileFactory())
	if err != nil {
		return otelcol.Factories{}, err
	}
	return otelcol.Factories{
		Receivers: receivers,
		Exporters: exporters,
		Telemetry: otelconftelemetry.NewFactory(),
	}, nil
}

func main() {
	info := component.BuildInfo{Command: "avb-otelcol", Description: "avb test collector", Version: "0.165.0"}
	set := otelcol.CollectorSettings{
		BuildInfo: info,
		Factories: components,
		ConfigProviderSettings: otelcol.ConfigProviderSettings{
			ResolverSettings: confmap.ResolverSettings{
				ProviderFactories: []confmap.ProviderFactory{fileprovider.NewFactory(), envprovider.NewFactory()},
				DefaultScheme:     "env",
			},
		},
	}
	if err := otelcol.NewCommand(set).Execute(); err != nil {
		log.Fatal(err)
	}
}
