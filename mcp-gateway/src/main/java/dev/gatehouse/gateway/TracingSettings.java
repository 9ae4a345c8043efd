package dev.gatehouse.gateway;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.net.URI;
import java.util.Map;
import java.util.Optional;

/**
 * The {@code tracing:} section: OpenTelemetry traces of every chain step, exported over OTLP. Off by
 * default; the standard {@code OTEL_*} variables ({@code OTEL_EXPORTER_OTLP_ENDPOINT},
 * {@code OTEL_EXPORTER_OTLP_PROTOCOL}, {@code OTEL_EXPORTER_OTLP_HEADERS}, {@code OTEL_SERVICE_NAME},
 * {@code OTEL_TRACES_SAMPLER}…) override what is set here.
 *
 * <pre>{@code
 * tracing:
 *   enabled: true
 *   endpoint: http://otel-collector:4318     # OTLP/HTTP; :4317 with protocol: grpc
 *   protocol: http/protobuf                  # or grpc
 *   service_name: gatehouse
 *   sample_ratio: 1.0                        # of the traces that start here; a caller's sampled flag is followed
 *   headers: { authorization: "Bearer ${env:COLLECTOR_TOKEN}" }
 * }</pre>
 */
public record TracingSettings(boolean enabled, Optional<URI> endpoint, String protocol, String serviceName, double sampleRatio,
    Map<String, String> headers) {

  public TracingSettings {
    endpoint = endpoint == null ? Optional.empty() : endpoint;
    protocol = protocol == null ? "http/protobuf" : protocol;
    if (!protocol.equals("http/protobuf") && !protocol.equals("grpc")) {
      throw new IllegalArgumentException("protocol: '" + protocol + "' (expected: http/protobuf or grpc)");
    }
    serviceName = serviceName == null || serviceName.isBlank() ? "gatehouse" : serviceName;
    if (sampleRatio < 0 || sampleRatio > 1) {
      throw new IllegalArgumentException("sample_ratio: " + sampleRatio + " (expected: 0..1)");
    }
    headers = headers == null ? Map.of() : Map.copyOf(headers);
  }

  public static TracingSettings defaults() {
    return new TracingSettings(false, Optional.empty(), null, null, 1.0, null);
  }

  @JsonCreator
  static TracingSettings fromConfig(
      @JsonProperty("enabled") Boolean enabled,
      @JsonProperty("endpoint") URI endpoint,
      @JsonProperty("protocol") String protocol,
      @JsonProperty("service_name") String serviceName,
      @JsonProperty("sample_ratio") Double sampleRatio,
      @JsonProperty("headers") Map<String, String> headers) {
    if (endpoint != null && (endpoint.getScheme() == null || !endpoint.getScheme().startsWith("http") || endpoint.getHost() == null)) {
      throw new IllegalArgumentException("endpoint: '" + endpoint + "' (expected: an http or https URL of an OTLP receiver)");
    }
    return new TracingSettings(enabled != null && enabled, Optional.ofNullable(endpoint), protocol, serviceName,
        sampleRatio == null ? 1.0 : sampleRatio, headers);
  }

  /** Never the headers' values: they may carry a collector's credentials. */
  @Override
  public String toString() {
    return "tracing{" + (enabled ? "on" : "off") + " " + endpoint.map(URI::toString).orElse("(OTEL_* or default endpoint)") + " "
        + protocol + " " + serviceName + " ratio=" + sampleRatio + (headers.isEmpty() ? "" : " headers=" + headers.keySet()) + "}";
  }
}
