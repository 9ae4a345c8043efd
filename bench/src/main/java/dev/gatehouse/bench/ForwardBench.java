package dev.gatehouse.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gatehouse.gateway.BenchAccess;
import dev.gatehouse.registry.Json;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Request parse and forward, the JSON work the gateway does per tool call, with its own mapper
 * ({@code registry.Json.MAPPER}) and checks: a client's {@code tools/call} parsed and validated, the
 * upstream request built (original tool name, our id) and serialised; the upstream's answer parsed
 * and the client's answer serialised; and the same for {@code /v1/mcp/tool/execute} (arguments arrive
 * as a JSON string, the answer is an OpenAI tool message).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class ForwardBench {
  private byte[] mcpRequest;
  private byte[] executeRequest;
  private byte[] upstreamReply;
  private long id;

  @Setup
  public void setup() {
    mcpRequest = ("{\"jsonrpc\":\"2.0\",\"id\":17,\"method\":\"tools/call\",\"params\":{\"name\":\"bench__echo\","
        + "\"arguments\":{\"text\":\"hello bench\",\"n\":42},\"_meta\":{\"progressToken\":\"p-17\"}}}").getBytes(StandardCharsets.UTF_8);
    executeRequest = ("{\"id\":\"call_17\",\"type\":\"function\",\"function\":{\"name\":\"bench__echo\","
        + "\"arguments\":\"{\\\"text\\\":\\\"hello bench\\\",\\\"n\\\":42}\"}}").getBytes(StandardCharsets.UTF_8);
    upstreamReply = ("{\"jsonrpc\":\"2.0\",\"id\":9,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"" + MockUpstreams.TOOL_TEXT
        + "\"}],\"isError\":false}}").getBytes(StandardCharsets.UTF_8);
  }

  private byte[] upstreamCall(String tool, JsonNode arguments) {
    ObjectNode params = Json.object();
    params.put("name", tool);
    params.set("arguments", arguments);
    ObjectNode msg = Json.object();
    msg.put("jsonrpc", "2.0");
    msg.put("id", ++id);
    msg.put("method", "tools/call");
    msg.set("params", params);
    return Json.bytes(msg);
  }

  /** /mcp: parse, validate, resolve the name, build and serialise the upstream request. */
  @Benchmark
  public byte[] mcpRequestForward() throws Exception {
    ObjectNode msg = (ObjectNode) Json.MAPPER.readTree(mcpRequest);
    if (BenchAccess.validateJsonRpc(msg) != null) {
      throw new IllegalStateException("invalid");
    }
    JsonNode params = msg.get("params");
    String name = params.get("name").asText();
    return upstreamCall(name.substring(name.indexOf("__") + 2), params.get("arguments"));
  }

  /** /mcp: parse the upstream's answer, serialise the client's. */
  @Benchmark
  public byte[] mcpReplyForward() throws Exception {
    JsonNode reply = Json.MAPPER.readTree(upstreamReply);
    ObjectNode out = Json.object();
    out.put("jsonrpc", "2.0");
    out.put("id", 17);
    out.set("result", reply.get("result"));
    return Json.bytes(out);
  }

  /** /v1/mcp/tool/execute: parse the call and its arguments string, build and serialise the upstream request. */
  @Benchmark
  public byte[] executeRequestForward() throws Exception {
    JsonNode body = Json.MAPPER.readTree(executeRequest);
    JsonNode fn = body.get("function");
    JsonNode args = Json.MAPPER.readTree(fn.get("arguments").asText());
    String name = fn.get("name").asText();
    return upstreamCall(name.substring(name.indexOf("__") + 2), args);
  }

  /** /v1/mcp/tool/execute: parse the upstream's answer, turn it into the tool message, serialise it. */
  @Benchmark
  public byte[] executeReplyForward() throws Exception {
    JsonNode result = Json.MAPPER.readTree(upstreamReply).get("result");
    ObjectNode out = Json.object();
    out.put("role", "tool");
    out.put("tool_call_id", "call_17");
    out.put("content", BenchAccess.toolResultText(result));
    return Json.bytes(out);
  }
}
