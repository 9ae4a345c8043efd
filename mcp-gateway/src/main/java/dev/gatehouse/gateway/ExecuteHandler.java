package dev.gatehouse.gateway;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gatehouse.identity.Principal;
import dev.gatehouse.registry.CallContext;
import dev.gatehouse.registry.FederatedCatalog;
import dev.gatehouse.registry.Json;
import dev.gatehouse.registry.McpException;
import dev.gatehouse.registry.ToolRegistry;
import java.io.IOException;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.function.Supplier;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;

/**
 * {@code POST /v1/mcp/tool/execute}: runs one tool call a model proposed, through the same pipeline
 * as {@code /mcp} (identity, policies, limits, audit). Takes the OpenAI chat shape
 * {@code {"id","type":"function","function":{"name","arguments"}}} and answers the tool message
 * {@code {"role":"tool","tool_call_id","content"}}; with {@code ?format=responses} it takes
 * {@code {"type":"function_call","call_id","name","arguments"}} and answers
 * {@code {"type":"function_call_output","call_id","output"}}.
 */
final class ExecuteHandler {
  static final String PATH = "/v1/mcp/tool/execute";

  private final ToolRegistry registry;
  private final Pipeline pipeline;
  private final Supplier<EdgeAuth> auth;
  private final Supplier<HttpPolicy> http;

  ExecuteHandler(ToolRegistry registry, Pipeline pipeline, Supplier<EdgeAuth> auth, Supplier<HttpPolicy> http) {
    this.registry = registry;
    this.pipeline = pipeline;
    this.auth = auth;
    this.http = http;
  }

  /** A malformed request: 400 with what was expected. */
  private static final class Invalid extends RuntimeException {
    final String code;

    Invalid(String code, String message) {
      super(message, null, false, false);
      this.code = code;
    }
  }

  /** The call as either format states it. */
  private record Call(String id, String name, ObjectNode arguments, boolean responses) {}

  void handle(Request request, Response response, Callback callback) {
    String chain = Chains.fromHeaders(request.getHeaders().get(Chains.HEADER), request.getHeaders().get("traceparent"))
        .orElseGet(Chains::generate);
    response.getHeaders().put(Chains.HEADER, chain);
    HttpPolicy p = http.get();
    if (!p.hostAllowed(request.getHeaders().get(HttpHeader.HOST)) || !p.originAllowed(request.getHeaders().get(HttpHeader.ORIGIN))) {
      OpenAiErrors.write(response, callback, 403, "permission_error", "forbidden_origin", "Host or Origin not allowed (server.allowed_hosts, server.allowed_origins)");
      return;
    }
    if (!HttpMethod.POST.is(request.getMethod())) {
      response.getHeaders().put(HttpHeader.ALLOW, "POST");
      OpenAiErrors.write(response, callback, 405, "invalid_request_error", "method_not_allowed", "Use POST");
      return;
    }
    Principal caller = auth.get().authenticate(request, response, callback, PATH, OpenAiErrors::auth).orElse(null);
    if (caller == null) {
      return;
    }
    Call call;
    try {
      Fields query = Request.extractQueryParameters(request);
      String format = query.getValue("format");
      if (format != null && !format.equals("responses") && !format.equals("chat")) {
        throw new Invalid("invalid_format", "format: '" + format + "' (expected: chat or responses)");
      }
      call = parse(read(request, p), "responses".equals(format));
    } catch (Invalid e) {
      OpenAiErrors.write(response, callback, e.code.equals("request_too_large") ? 413 : 400, "invalid_request_error", e.code, e.getMessage());
      return;
    } catch (IOException e) {
      OpenAiErrors.write(response, callback, 400, "invalid_request_error", "unreadable_body", "The request body could not be read");
      return;
    }
    FederatedCatalog.Entry tool = registry.catalog().tool(call.name()).orElse(null);
    if (tool == null) {
      OpenAiErrors.write(response, callback, 404, "not_found_error", "tool_not_found",
          "No tool named '" + call.name() + "' (tools are named <server>" + registry.catalog().separator() + "<tool>; tools/list on /mcp shows them)");
      return;
    }
    ObjectNode params = Json.object();
    params.put("name", tool.originalName());
    params.set("arguments", call.arguments());
    Invocation inv = new Invocation(Invocation.Kind.TOOL, caller, "execute", chain, Optional.of(call.id()),
        call.name(), tool.server(), tool.originalName(), tool.name(), "tools/call", params, CallContext.none(), new CallFacts());
    JsonNode result;
    try {
      result = pipeline.run(inv).join();
    } catch (CompletionException | java.util.concurrent.CancellationException e) {
      fail(response, callback, JsonRpc.toMcp(e));
      return;
    }
    String content = ToolResults.toText(result);
    ObjectNode out = Json.object();
    if (call.responses()) {
      out.put("type", "function_call_output");
      out.put("call_id", call.id());
      out.put("output", content);
    } else {
      out.put("role", "tool");
      out.put("tool_call_id", call.id());
      out.put("content", content);
    }
    if (result.path("isError").asBoolean(false)) {
      // The tool ran and reported a failure: that is the tool's answer for the model, not an HTTP error.
      response.getHeaders().put("X-Gatehouse-Tool-Error", "true");
    }
    McpHttpHandler.writeJson(response, callback, 200, out, null);
  }

  private static void fail(Response response, Callback callback, McpException e) {
    String msg = e.getMessage();
    switch (e.code()) {
      case PolicyStep.FORBIDDEN -> OpenAiErrors.write(response, callback, 403, "permission_error", "tool_not_allowed", msg);
      case PolicyStep.RATE_LIMITED -> {
        long retry = e.data().map(d -> d.path("retryAfterSeconds").asLong(1)).orElse(1L);
        response.getHeaders().put(HttpHeader.RETRY_AFTER, Long.toString(retry));
        OpenAiErrors.write(response, callback, 429, "rate_limit_error", "rate_limited", msg);
      }
      case McpException.UPSTREAM_TIMEOUT -> OpenAiErrors.write(response, callback, 504, "upstream_error", "upstream_timeout", msg);
      case McpException.UPSTREAM_UNAVAILABLE -> OpenAiErrors.write(response, callback, 502, "upstream_error", "upstream_unavailable", msg);
      case McpException.INVALID_PARAMS -> OpenAiErrors.write(response, callback, 400, "invalid_request_error", "invalid_arguments",
          "The tool refused its arguments: " + msg);
      case McpException.REQUEST_CANCELLED -> OpenAiErrors.write(response, callback, 499, "upstream_error", "cancelled", msg);
      default -> OpenAiErrors.write(response, callback, 502, "upstream_error", "upstream_error", "The tool's server answered an error: " + msg);
    }
  }

  private static JsonNode read(Request request, HttpPolicy p) throws IOException {
    byte[] bytes;
    try {
      bytes = Bodies.read(request, p.maxRequestBytes());
    } catch (Bodies.TooLarge e) {
      throw new Invalid("request_too_large", e.getMessage());
    }
    try {
      JsonNode node = Json.MAPPER.readTree(bytes);
      if (node == null || !node.isObject()) {
        throw new Invalid("invalid_json", "Expected a JSON object (an OpenAI tool call)");
      }
      return node;
    } catch (JsonProcessingException e) {
      throw new Invalid("invalid_json", "Body is not JSON: " + e.getOriginalMessage());
    }
  }

  private static Call parse(JsonNode body, boolean responses) {
    if (responses) {
      if (!"function_call".equals(body.path("type").asText())) {
        throw new Invalid("invalid_tool_call", "type: expected \"function_call\" (format=responses)");
      }
      return new Call(text(body, "call_id"), text(body, "name"), arguments(body.get("arguments")), true);
    }
    if (body.has("type") && !"function".equals(body.path("type").asText())) {
      throw new Invalid("invalid_tool_call", "type: '" + body.path("type").asText() + "' (expected: \"function\")");
    }
    JsonNode fn = body.get("function");
    if (!(fn instanceof ObjectNode)) {
      throw new Invalid("invalid_tool_call", "function: missing (expected {\"name\": ..., \"arguments\": \"{...}\"})");
    }
    return new Call(text(body, "id"), text(fn, "name"), arguments(fn.get("arguments")), false);
  }

  private static String text(JsonNode node, String field) {
    JsonNode v = node.get(field);
    if (v == null || !v.isTextual() || v.asText().isBlank()) {
      throw new Invalid("invalid_tool_call", field + ": missing (expected a non-empty string)");
    }
    return v.asText();
  }

  /** Arguments as models send them (a JSON string), or an object; absent or empty means {}. */
  private static ObjectNode arguments(JsonNode raw) {
    if (raw == null || raw.isNull() || raw.isTextual() && raw.asText().isBlank()) {
      return Json.object();
    }
    if (raw instanceof ObjectNode o) {
      return o;
    }
    if (raw.isTextual()) {
      try {
        JsonNode parsed = Json.MAPPER.readTree(raw.asText());
        if (parsed instanceof ObjectNode o) {
          return o;
        }
      } catch (JsonProcessingException e) {
        throw new Invalid("invalid_arguments", "arguments: not valid JSON (" + e.getOriginalMessage() + ")");
      }
    }
    throw new Invalid("invalid_arguments", "arguments: expected a JSON object, or a string holding one");
  }
}
