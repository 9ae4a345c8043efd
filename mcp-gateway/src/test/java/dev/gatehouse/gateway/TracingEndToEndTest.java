package dev.gatehouse.gateway;

import static dev.gatehouse.gateway.TestUpstreams.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import dev.gatehouse.registry.Json;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import java.net.InetSocketAddress;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * OpenTelemetry traces over OTLP/HTTP to a collector (a receiver here that decodes the protobuf export
 * requests): one span per chain step, child of the caller's {@code traceparent}, with the MCP and GenAI
 * attributes, the decision and the rule; the span's context passed on to an HTTP MCP upstream (header
 * and {@code _meta}) and to a model provider (header); the chain id is the caller's trace id.
 */
@Timeout(120)
class TracingEndToEndTest {
  @TempDir
  static Path dir;
  static HttpServer collector;
  static HttpServer provider;
  static NodeTooling.Listening upstream;
  static Gateway gateway;
  static final List<Span> spans = new CopyOnWriteArrayList<>();
  static final List<String> providerTraceparents = new CopyOnWriteArrayList<>();
  static final List<String> receiverErrors = new CopyOnWriteArrayList<>();

  static final String TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
  static final String CALLER_SPAN = "00f067aa0ba902b7";
  static final String TRACEPARENT = "00-" + TRACE_ID + "-" + CALLER_SPAN + "-01";

  @BeforeAll
  static void start() throws Exception {
    NodeTooling.require();
    collector = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    collector.createContext("/v1/traces", ex -> {
      try {
        ExportTraceServiceRequest req = ExportTraceServiceRequest.parseFrom(ex.getRequestBody().readAllBytes());
        for (ResourceSpans rs : req.getResourceSpansList()) {
          for (ScopeSpans ss : rs.getScopeSpansList()) {
            spans.addAll(ss.getSpansList());
          }
        }
      } catch (RuntimeException | Error e) {
        receiverErrors.add(e.toString()); // the receiver could not read an export: span() says so
        throw e;
      }
      ex.getResponseHeaders().add("Content-Type", "application/x-protobuf");
      ex.sendResponseHeaders(200, 0);
      ex.close();
    });
    collector.start();
    provider = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    provider.createContext("/v1/chat/completions", ex -> {
      providerTraceparents.add(String.valueOf(ex.getRequestHeaders().getFirst("traceparent")));
      ex.getRequestBody().readAllBytes();
      byte[] body = ("{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"fake-1\",\"choices\":[{\"index\":0,"
          + "\"message\":{\"role\":\"assistant\",\"content\":\"hi\"},\"finish_reason\":\"stop\"}],"
          + "\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":2,\"total_tokens\":9}}").getBytes(StandardCharsets.UTF_8);
      ex.getResponseHeaders().add("Content-Type", "application/json");
      ex.sendResponseHeaders(200, body.length);
      ex.getResponseBody().write(body);
      ex.close();
    });
    provider.start();
    upstream = NodeTooling.listening("trace-upstream.mjs");
    Path file = dir.resolve("g.yaml");
    Files.writeString(file, "server: { port: 0 }\n"
        + "upstreams:\n  traced: { transport: streamable-http, url: \"" + upstream.url() + "\", protocol_version: 2025-11-25 }\n"
        + "providers:\n  fake: { kind: openai-compatible, base_url: \"http://127.0.0.1:" + provider.getAddress().getPort() + "/v1\","
        + " keys: [{ value: sk-x }] }\n"
        + "tracing: { enabled: true, endpoint: \"http://127.0.0.1:" + collector.getAddress().getPort() + "\", service_name: gatehouse-test }\n");
    gateway = Gateway.start(new ConfigLoader().load(file), Optional.of(file));
    await("traced connected", Duration.ofSeconds(30), () -> gateway.registry().catalog().tool("traced__traced").isPresent());
  }

  @AfterAll
  static void stop() throws Exception {
    TestUpstreams.closeAll(gateway, upstream);
    if (collector != null) {
      collector.stop(0);
    }
    if (provider != null) {
      provider.stop(0);
    }
  }

  static String hex(com.google.protobuf.ByteString b) {
    return HexFormat.of().formatHex(b.toByteArray());
  }

  static Map<String, String> attributes(Span s) {
    Map<String, String> out = new java.util.HashMap<>();
    for (KeyValue kv : s.getAttributesList()) {
      out.put(kv.getKey(), kv.getValue().hasIntValue() ? Long.toString(kv.getValue().getIntValue()) : kv.getValue().getStringValue());
    }
    return out;
  }

  /** The span named {@code name} in trace {@code traceId}, once exported. */
  static Span span(String name, String traceId) {
    await("span " + name + " in trace " + traceId, Duration.ofSeconds(20), () -> {
      gateway.tracing().flush();
      return spans.stream().anyMatch(s -> s.getName().equals(name) && hex(s.getTraceId()).equals(traceId));
    });
    return spans.stream().filter(s -> s.getName().equals(name) && hex(s.getTraceId()).equals(traceId)).findFirst().orElseThrow();
  }

  static Span span(String name) {
    gateway.tracing().flush();
    assertTrue(receiverErrors.isEmpty(), "the OTLP receiver could not read an export: " + receiverErrors);
    await("span " + name, Duration.ofSeconds(20), () -> {
      gateway.tracing().flush();
      return spans.stream().anyMatch(s -> s.getName().equals(name));
    });
    return spans.stream().filter(s -> s.getName().equals(name)).findFirst().orElseThrow();
  }

  @Test
  void aToolCallIsASpanUnderTheCallersTraceAndItsUpstreamIsTheSpansChild() throws Exception {
    HttpResponse<String> r = TestUpstreams.send(HttpRequest.newBuilder(gateway.baseUri().resolve(ExecuteHandler.PATH))
        .header("Content-Type", "application/json").header("traceparent", TRACEPARENT)
        .POST(HttpRequest.BodyPublishers.ofString("{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"traced__traced\",\"arguments\":\"{}\"}}"))
        .build());
    assertEquals(200, r.statusCode(), r.body());
    assertEquals(TRACE_ID, r.headers().firstValue(Chains.HEADER).orElse(""), "the chain id is the caller's trace id");
    Span s = span("tools/call traced__traced", TRACE_ID);
    assertEquals(CALLER_SPAN, hex(s.getParentSpanId()), "a child of the caller's span");
    Map<String, String> a = attributes(s);
    assertEquals("tools/call", a.get("mcp.method.name"));
    assertEquals("traced__traced", a.get("gen_ai.tool.name"));
    assertEquals("execute_tool", a.get("gen_ai.operation.name"));
    assertEquals("allow", a.get("gatehouse.decision"));
    assertEquals("none", a.get("gatehouse.rule"));
    assertEquals("ok", a.get("gatehouse.outcome"));
    assertEquals("traced", a.get("gatehouse.upstream"));
    assertEquals(TRACE_ID, a.get("gatehouse.chain_id"));
    JsonNode seen = Json.MAPPER.readTree(Json.MAPPER.readTree(r.body()).path("content").asText());
    String mine = "00-" + TRACE_ID + "-" + hex(s.getSpanId()) + "-01";
    assertEquals(mine, seen.path("header").asText(), "the upstream's request is the span's child (header): " + seen);
    assertEquals(mine, seen.path("meta").asText(), "and in _meta: " + seen);
  }

  @Test
  void anMcpRequestsTraceparentHeaderIsFollowedWhenItsMetaNamesNone() throws Exception {
    String traceId = "0af7651916cd43dd8448eb211c80319c";
    HttpResponse<String> r = McpHttp.modern(gateway.baseUri().resolve("/mcp"), 7, "tools/call", "traced__traced",
        "\"name\":\"traced__traced\",\"arguments\":{}", "traceparent", "00-" + traceId + "-b7ad6b7169203331-01");
    assertEquals(200, r.statusCode(), r.body());
    Span s = span("tools/call traced__traced", traceId);
    assertEquals("b7ad6b7169203331", hex(s.getParentSpanId()), "a child of the span the header named");
  }

  @Test
  void aModelCallIsAGenAiSpanAndTheProviderGetsItsContext() throws Exception {
    HttpResponse<String> r = TestUpstreams.send(HttpRequest.newBuilder(gateway.baseUri().resolve(ChatHandler.COMPLETIONS))
        .header("Content-Type", "application/json").header("traceparent", TRACEPARENT)
        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"fake/fake-1\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}"))
        .build());
    assertEquals(200, r.statusCode(), r.body());
    Span s = span("chat fake/fake-1");
    assertEquals(CALLER_SPAN, hex(s.getParentSpanId()));
    Map<String, String> a = attributes(s);
    assertEquals("chat", a.get("gen_ai.operation.name"));
    assertEquals("fake/fake-1", a.get("gen_ai.request.model"));
    assertEquals("fake", a.get("gen_ai.provider.name"));
    assertEquals("7", a.get("gen_ai.usage.input_tokens"));
    assertEquals("2", a.get("gen_ai.usage.output_tokens"));
    assertTrue(providerTraceparents.contains("00-" + TRACE_ID + "-" + hex(s.getSpanId()) + "-01"), providerTraceparents.toString());
  }

  @Test
  void aRefusedCallIsAnErrorSpanNamingWhy() throws Exception {
    HttpResponse<String> r = TestUpstreams.send(HttpRequest.newBuilder(gateway.baseUri().resolve(ExecuteHandler.PATH))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"id\":\"c2\",\"type\":\"function\",\"function\":{\"name\":\"traced__nope\",\"arguments\":\"{}\"}}"))
        .build());
    assertEquals(404, r.statusCode(), r.body());
    Span s = span("tools/call traced__nope");
    assertEquals(Span.SpanKind.SPAN_KIND_CLIENT, s.getKind());
    assertEquals(io.opentelemetry.proto.trace.v1.Status.StatusCode.STATUS_CODE_ERROR, s.getStatus().getCode());
    assertEquals("unknown", attributes(s).get("gatehouse.outcome"));
    assertNotEquals(TRACE_ID, hex(s.getTraceId()), "without a traceparent, a trace of its own");
  }
}
